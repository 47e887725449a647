//! The software bill of materials of an image: an SPDX 2.3 JSON document made from the package
//! database of its root filesystem (read through `buildah mount`, on the host). Deterministic: the
//! same installed packages, image name, date and input hash give the same bytes.

mod license;
pub mod vdb;

use anyhow::{Context, Result};
use camino::Utf8Path;
use serde_json::{json, Value};

pub use vdb::InstalledPackage;

/// Where every image carries its SBOM.
pub const IMAGE_PATH: &str = "/usr/share/buildah-gentoo/sbom.spdx.json";

/// What the document says about itself besides the packages.
#[derive(Clone, Copy, Debug)]
pub struct DocumentInfo<'a> {
    /// The image's name (`rig/hello`).
    pub image: &'a str,
    /// `creationInfo.created`, seconds since 1970 (the build's SOURCE_DATE_EPOCH).
    pub created: i64,
    /// The image's input hash; without it the namespace is derived from the document's content.
    pub inputs: Option<&'a str>,
}

/// The SBOM of the root filesystem at `root`, as pretty JSON with a final newline.
pub fn generate(root: &Utf8Path, info: DocumentInfo) -> Result<String> {
    let packages = vdb::read(root).with_context(|| format!("reading the package database under {root}"))?;
    Ok(render(&document(&packages, info)))
}

/// Generates the SBOM of `root` into `output` (replaced whole: written aside, then renamed).
pub fn write(root: &Utf8Path, info: DocumentInfo, output: &Utf8Path) -> Result<()> {
    let text = generate(root, info)?;
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    }
    let partial = output.with_extension("json.partial");
    std::fs::write(&partial, text).with_context(|| format!("writing {partial}"))?;
    std::fs::rename(&partial, output).with_context(|| format!("renaming {partial} to {output}"))
}

pub fn render(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).expect("JSON values serialize");
    text.push('\n');
    text
}

/// The SPDX 2.3 document: the image as the described package, containing one package per
/// installed `CATEGORY/PF`, each containing its regular files (with their MD5 from `CONTENTS`).
pub fn document(packages: &[InstalledPackage], info: DocumentInfo) -> Value {
    let image_id = "SPDXRef-Image";
    let mut spdx_packages = vec![json!({
        "SPDXID": image_id,
        "name": info.image,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
    })];
    let mut files = Vec::new();
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": image_id}),
    ];
    let mut extracted = Vec::new();
    for (number, package) in packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}-{}", number + 1, id_part(&package.cpv()));
        let enabled: Vec<String> = package.use_flags.iter().filter(|flag| !flag.starts_with('-')).cloned().collect();
        let license = license::to_spdx(&package.license, &enabled);
        extracted.extend(license.references);
        let mut entry = json!({
            "SPDXID": id,
            "name": format!("{}/{}", package.category, package.name),
            "versionInfo": package.version,
            "downloadLocation": first_url(&package.src_uri).unwrap_or("NOASSERTION"),
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license.spdx,
            "copyrightText": "NOASSERTION",
            "comment": format!("USE: {}; SLOT: {}", package.use_flags.join(" "), package.slot),
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": purl(package),
            }],
        });
        let fields = entry.as_object_mut().expect("an object");
        if !package.src_uri.is_empty() {
            fields.insert("sourceInfo".into(), json!(format!("SRC_URI: {}", package.src_uri)));
        }
        if let Some(homepage) = package.homepage.split_whitespace().next() {
            fields.insert("homepage".into(), json!(homepage));
        }
        if !package.description.is_empty() {
            fields.insert("description".into(), json!(package.description));
        }
        spdx_packages.push(entry);
        relationships
            .push(json!({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
        for (file_number, (path, md5)) in package.files.iter().enumerate() {
            let file_id = format!("SPDXRef-File-{}-{}", number + 1, file_number + 1);
            files.push(json!({
                "SPDXID": file_id,
                "fileName": format!(".{path}"),
                "checksums": [{"algorithm": "MD5", "checksumValue": md5}],
            }));
            relationships
                .push(json!({"spdxElementId": id, "relationshipType": "CONTAINS", "relatedSpdxElement": file_id}));
        }
    }
    extracted.sort();
    extracted.dedup();
    let extracted: Vec<Value> = extracted
        .into_iter()
        .map(|(id, name)| {
            json!({
                "licenseId": id,
                "name": name,
                "extractedText": format!("The Gentoo license `{name}`: see licenses/{name} in the ebuild repository."),
            })
        })
        .collect();
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": info.image,
        "documentNamespace": "",
        "creationInfo": {
            "created": crate::clock::rfc3339(info.created),
            "creators": [format!("Tool: buildah-gentoo-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": spdx_packages,
        "files": files,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        document["hasExtractedLicensingInfos"] = json!(extracted);
    }
    let unique = match info.inputs {
        Some(hash) => hash.to_owned(),
        None => crate::hash::sha256(render(&document).as_bytes()),
    };
    document["documentNamespace"] = json!(format!("https://buildah-gentoo.invalid/spdx/{}/{unique}", info.image));
    document
}

/// `pkg:ebuild/<category>/<name>@<version>?repository=<repository>` (package URL, percent-encoded).
pub fn purl(package: &InstalledPackage) -> String {
    let mut purl = format!(
        "pkg:ebuild/{}/{}@{}",
        percent_encode(&package.category),
        percent_encode(&package.name),
        percent_encode(&package.version)
    );
    if !package.repository.is_empty() {
        purl.push_str(&format!("?repository={}", percent_encode(&package.repository)));
    }
    purl
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// SPDX ids allow letters, digits, `.` and `-`.
fn id_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect()
}

/// The first URL of a `SRC_URI` (its USE conditionals, groups and `-> name` renames skipped).
fn first_url(src_uri: &str) -> Option<&str> {
    src_uri.split_whitespace().find(|token| token.contains("://"))
}

#[cfg(test)]
mod tests;

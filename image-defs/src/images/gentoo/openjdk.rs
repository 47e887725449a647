use super::Base;
use crate::{atom, image, package_use, Parent, Spec};

image! {
    /// A headless OpenJDK 21.
    pub OpenJdk = Spec {
        name: "openjdk",
        parent: Parent::image(&Base),
        description: "OpenJDK 21, headless",
        packages: &[atom!("dev-java/openjdk:21")],
        package_use: &[package_use!("dev-java/openjdk:21" => "headless-awt -alsa -cups -javafx")],
        env: &[("JAVA_HOME", "/usr/lib64/openjdk-21")],
        test: Some(&["java", "-version"]),
        ..Spec::DEFAULT
    };
}

use super::Base;
use crate::{atom, package_use, Atom, Image, PackageUse, Parent};

/// A headless OpenJDK 21.
pub struct OpenJdk;

impl Image for OpenJdk {
    fn name(&self) -> &'static str {
        "openjdk"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Base>()
    }
    fn description(&self) -> &'static str {
        "OpenJDK 21, headless"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("dev-java/openjdk:21")]
    }
    fn package_use(&self) -> Vec<PackageUse> {
        vec![package_use!("dev-java/openjdk:21" => "headless-awt -alsa -cups -javafx")]
    }
    fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![("JAVA_HOME", "/usr/lib64/openjdk-21")]
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["java", "-version"])
    }
}

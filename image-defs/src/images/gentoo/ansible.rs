use super::Python;
use crate::{atom, Atom, Image, Parent};

/// Ansible on the python image: an image whose parent is two levels above the stage3.
pub struct Ansible;

impl Image for Ansible {
    fn name(&self) -> &'static str {
        "ansible"
    }
    fn parent(&self) -> Parent {
        Parent::image::<Python>()
    }
    fn description(&self) -> &'static str {
        "Ansible, on the python image"
    }
    fn packages(&self) -> Vec<Atom<'static>> {
        vec![atom!("app-admin/ansible"), atom!("net-misc/openssh")]
    }
    fn workdir(&self) -> Option<&'static str> {
        Some("/ansible")
    }
    fn entrypoint(&self) -> Option<Vec<&'static str>> {
        Some(vec!["ansible-playbook"])
    }
    fn test(&self) -> Option<Vec<&'static str>> {
        Some(vec!["ansible", "--version"])
    }
}

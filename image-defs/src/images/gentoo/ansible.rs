use super::Python;
use crate::{atom, image, Parent, Spec};

image! {
    /// Ansible on the python image: an image whose parent is two levels above the stage3.
    pub Ansible = Spec {
        name: "ansible",
        parent: Parent::image(&Python),
        description: "Ansible, on the python image",
        packages: &[atom!("app-admin/ansible"), atom!("net-misc/openssh")],
        workdir: Some("/ansible"),
        entrypoint: Some(&["ansible-playbook"]),
        test: Some(&["ansible", "--version"]),
        ..Spec::DEFAULT
    };
}

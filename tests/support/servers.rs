//! Real servers for the integration tests: on loopback only, on free ports, started by the test and
//! killed when dropped. A distribution registry (Debian's `docker-registry`) with TLS, optionally
//! requiring client certificates and htpasswd credentials; nginx serving a folder over plain HTTP (a
//! distfiles mirror) or over TLS, optionally requiring client certificates; and the certificates they
//! need, made with openssl.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

/// A free TCP port on 127.0.0.1 (bound once, then released for the server to take).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// Runs a command to completion; panics with its output unless it succeeds.
#[track_caller]
fn run_ok(command: &mut Command) -> String {
    let output =
        command.stdin(Stdio::null()).output().unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A server process: its output goes to a log file; it is killed (SIGKILL) and reaped when dropped.
pub struct Server {
    name: String,
    child: Option<Child>,
    log: Utf8PathBuf,
}

impl Server {
    /// Starts `command` with stdout and stderr appended to `log`.
    #[track_caller]
    pub fn start(name: &str, mut command: Command, log: &Utf8Path) -> Server {
        let file = File::options().create(true).append(true).open(log).expect("opening the server log");
        command.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        let child = command.spawn().unwrap_or_else(|error| panic!("cannot start {name} ({command:?}): {error}"));
        Server { name: name.to_owned(), child: Some(child), log: log.to_owned() }
    }

    /// Waits until `127.0.0.1:port` accepts connections; panics (with the log) if the server exits or
    /// does not listen within `timeout`.
    #[track_caller]
    pub fn wait_until_listening(&mut self, port: u16, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                panic!("{} exited ({status}) before listening on port {port}:\n{}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on port {port} within {timeout:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server (SIGKILL: no graceful shutdown) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// A test CA, a server certificate for `localhost` and `127.0.0.1`, and a client certificate, all
/// signed by that CA. PEM files in one folder.
pub struct Certificates {
    pub dir: Utf8PathBuf,
    pub ca_cert: Utf8PathBuf,
    pub server_cert: Utf8PathBuf,
    pub server_key: Utf8PathBuf,
    pub client_cert: Utf8PathBuf,
    pub client_key: Utf8PathBuf,
}

impl Certificates {
    /// Makes the certificates in `dir` (created) with openssl.
    #[track_caller]
    pub fn make(dir: &Utf8Path) -> Certificates {
        std::fs::create_dir_all(dir).unwrap();
        let path = |name: &str| dir.join(name);
        let openssl = |args: &[&str]| run_ok(Command::new("openssl").args(args).current_dir(dir));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=buildah-gentoo test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        std::fs::write(path("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
            .unwrap();
        std::fs::write(path("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
        for (who, subject) in [("server", "/CN=localhost"), ("client", "/CN=buildah-gentoo test client")] {
            let key = format!("{who}.key");
            let csr = format!("{who}.csr");
            openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", &key, "-out", &csr]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
                "-out",
                &format!("{who}.crt"),
            ]);
        }
        Certificates {
            dir: dir.to_owned(),
            ca_cert: path("ca.crt"),
            server_cert: path("server.crt"),
            server_key: path("server.key"),
            client_cert: path("client.crt"),
            client_key: path("client.key"),
        }
    }

    /// Lays out `<certs_dir>/<host>/` the containers `certs.d` way: the CA as `ca.crt` (with `ca`),
    /// and the client certificate as `client.cert` + `client.key` (with `client`). Returns the folder.
    #[track_caller]
    pub fn certs_d(&self, certs_dir: &Utf8Path, host: &str, ca: bool, client: bool) -> Utf8PathBuf {
        let folder = certs_dir.join(host);
        std::fs::create_dir_all(&folder).unwrap();
        if ca {
            std::fs::copy(&self.ca_cert, folder.join("ca.crt")).unwrap();
        }
        if client {
            std::fs::copy(&self.client_cert, folder.join("client.cert")).unwrap();
            std::fs::copy(&self.client_key, folder.join("client.key")).unwrap();
        }
        folder
    }
}

/// An htpasswd line (`user:bcrypt hash`, low cost so that every request stays fast), made with
/// `htpasswd` when installed, else with Python's `crypt` (libxcrypt does bcrypt).
#[track_caller]
pub fn htpasswd_line(user: &str, password: &str) -> String {
    if xtask::prerequisites::is_installed("htpasswd") {
        return run_ok(Command::new("htpasswd").args(["-nbB", "-C", "4", user, password])).trim().to_owned();
    }
    let script = "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))";
    let hash = run_ok(Command::new("python3").args(["-W", "ignore", "-c", script, password]));
    let hash = hash.trim();
    assert!(hash.starts_with("$2"), "python's crypt made no bcrypt hash: {hash:?}");
    format!("{user}:{hash}")
}

/// A containers auth file (`auth.json`) holding `user:password` for `host`.
pub fn auth_json(host: &str, user: &str, password: &str) -> String {
    let auth = base64(format!("{user}:{password}").as_bytes());
    serde_json::json!({ "auths": { host: { "auth": auth } } }).to_string()
}

/// Standard base64, with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().enumerate().fold(0u32, |acc, (i, byte)| acc | u32::from(*byte) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(value >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Registry

/// What the registry demands.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Refuse connections without a client certificate signed by the test CA (`http.tls.clientcas`).
    pub client_certificates: bool,
    /// `(user, password)`: htpasswd authentication.
    pub credentials: Option<(String, String)>,
}

/// A distribution registry (`docker-registry serve`) with TLS on `127.0.0.1:<free port>`, storing
/// under its folder. `host` is `localhost:<port>`, matching the server certificate.
pub struct Registry {
    pub port: u16,
    pub host: String,
    pub storage: Utf8PathBuf,
    config: Utf8PathBuf,
    log: Utf8PathBuf,
    server: Server,
}

impl Registry {
    /// Starts a registry whose configuration, storage and log live in `dir` (created).
    #[track_caller]
    pub fn start(dir: &Utf8Path, certificates: &Certificates, options: &RegistryOptions) -> Registry {
        assert!(
            xtask::prerequisites::is_installed("docker-registry"),
            "docker-registry is missing: `cargo xtask test` installs it (Debian package docker-registry)"
        );
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let storage = dir.join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  \
             secret: buildah-gentoo-test-secret\n  tls:\n    certificate: {}\n    key: {}\n",
            certificates.server_cert, certificates.server_key
        );
        if options.client_certificates {
            config.push_str(&format!("    clientcas:\n      - {}\n", certificates.ca_cert));
        }
        if let Some((user, password)) = &options.credentials {
            let htpasswd = dir.join("htpasswd");
            std::fs::write(&htpasswd, format!("{}\n", htpasswd_line(user, password))).unwrap();
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: buildah-gentoo-test\n    path: {htpasswd}\n"));
        }
        let config_path = dir.join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join("registry.log");
        let server = Registry::serve(&config_path, &log, port);
        Registry { port, host: format!("localhost:{port}"), storage, config: config_path, log, server }
    }

    fn serve(config: &Utf8Path, log: &Utf8Path, port: u16) -> Server {
        let mut command = Command::new("docker-registry");
        command.args(["serve", config.as_str()]);
        let mut server = Server::start("docker-registry", command, log);
        server.wait_until_listening(port, Duration::from_secs(20));
        server
    }

    /// Kills the registry at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts it again: same port, configuration and storage.
    #[track_caller]
    pub fn restart(&mut self) {
        self.server.kill();
        self.server = Registry::serve(&self.config, &self.log, self.port);
    }

    /// The registry's log so far (all runs).
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// The bytes received so far by blob uploads not finished yet (the `data` files in the
    /// repositories' `_uploads` folders); it grows while an upload streams in.
    pub fn upload_bytes(&self) -> u64 {
        fn walk(dir: &std::path::Path, in_uploads: bool) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => walk(&entry.path(), in_uploads || entry.file_name() == "_uploads"),
                    Ok(kind) if kind.is_file() && in_uploads && entry.file_name() == "data" => {
                        entry.metadata().map_or(0, |metadata| metadata.len())
                    }
                    _ => 0,
                })
                .sum()
        }
        walk(self.storage.join("docker/registry/v2/repositories").as_std_path(), false)
    }
}

// ---------------------------------------------------------------------------------------------
// nginx

/// nginx (Debian `nginx-light`) serving a folder on `127.0.0.1:<free port>`, over plain HTTP
/// ([`Nginx::start_http`], a distfiles mirror) or over TLS with the test server certificate
/// ([`Nginx::start_tls`]; `host` is then `localhost:<port>`, matching it). Each request is logged with
/// its status and size (and, over TLS, the client certificate's subject and verification result).
pub struct Nginx {
    pub port: u16,
    pub host: String,
    pub access_log: Utf8PathBuf,
    pub error_log: Utf8PathBuf,
    _server: Server,
}

impl Nginx {
    /// Starts nginx serving `root` over plain HTTP, its configuration and logs in `dir` (created).
    /// Its URL is `http://127.0.0.1:<port>`.
    #[track_caller]
    pub fn start_http(dir: &Utf8Path, root: &Utf8Path) -> Nginx {
        Nginx::start(dir, root, "'\"$request\" $status $body_bytes_sent'", |port| {
            format!("    listen 127.0.0.1:{port};\n")
        })
    }

    /// Starts nginx serving `root` over TLS, its configuration and logs in `dir` (created). With
    /// `require_client_certificate`, a request without a client certificate signed by the test CA
    /// gets no file (`ssl_verify_client on`: nginx answers 400).
    #[track_caller]
    pub fn start_tls(
        dir: &Utf8Path,
        root: &Utf8Path,
        certificates: &Certificates,
        require_client_certificate: bool,
    ) -> Nginx {
        let client = if require_client_certificate {
            format!("    ssl_client_certificate {};\n    ssl_verify_client on;\n", certificates.ca_cert)
        } else {
            String::new()
        };
        Nginx::start(
            dir,
            root,
            "'\"$request\" $status $body_bytes_sent client=\"$ssl_client_s_dn\" verify=$ssl_client_verify'",
            |port| {
                format!(
                    "    listen 127.0.0.1:{port} ssl;\n    server_name localhost;\n    ssl_certificate {};\n    \
                     ssl_certificate_key {};\n{client}",
                    certificates.server_cert, certificates.server_key
                )
            },
        )
    }

    /// nginx with `log_format` and the server block `listen(port)` gives, serving `root`.
    #[track_caller]
    fn start(dir: &Utf8Path, root: &Utf8Path, log_format: &str, listen: impl Fn(u16) -> String) -> Nginx {
        assert!(
            xtask::prerequisites::is_installed("nginx"),
            "nginx is missing: `cargo xtask test` installs it (Debian package nginx-light)"
        );
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let port = free_port();
        let access_log = dir.join("logs/access.log");
        let error_log = dir.join("logs/error.log");
        let config = dir.join("nginx.conf");
        std::fs::write(
            &config,
            format!(
                "daemon off;\nmaster_process off;\nuser root root;\npid {dir}/nginx.pid;\nerror_log {error_log} info;\n\
                 events {{ worker_connections 64; }}\n\
                 http {{\n  log_format requests {log_format};\n  \
                 access_log {access_log} requests;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  \
                 server {{\n{}    root {root};\n  }}\n}}\n",
                listen(port)
            ),
        )
        .unwrap();
        let mut command = Command::new("nginx");
        command.args(["-c", config.as_str(), "-p", dir.as_str(), "-e", error_log.as_str()]);
        let mut server = Server::start("nginx", command, &dir.join("nginx.out"));
        server.wait_until_listening(port, Duration::from_secs(10));
        Nginx { port, host: format!("localhost:{port}"), access_log, error_log, _server: server }
    }

    /// `http://127.0.0.1:<port>`: the URL of a plain-HTTP server.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log so far: one line per request, `"GET /path HTTP/1.1" status bytes` (over TLS
    /// followed by ` client="..." verify=...`).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(&self.access_log).unwrap_or_default()
    }

    /// The requests so far for `path` (`GET /distfiles/ad/rigsay-1.0.tar.gz`): their statuses, in
    /// order.
    pub fn statuses_of(&self, method: &str, path: &str) -> Vec<u16> {
        let request = format!("\"{method} {path} HTTP/");
        self.access_log()
            .lines()
            .filter_map(|line| line.strip_prefix(&request))
            .filter_map(|rest| rest.split_once("\" ")?.1.split_whitespace().next()?.parse().ok())
            .collect()
    }

    /// The error log so far (TLS handshake problems and refused clients show here, at `info`).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }
}

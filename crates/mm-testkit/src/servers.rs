//! Real servers on 127.0.0.1 for tests: started on a free port, stopped when dropped.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process on a loopback port.
#[derive(Debug)]
pub struct Server {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until something accepts connections on `port` (panics after 20 s).
pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// vsftpd serving `root` read-only to anonymous users on 127.0.0.1 (passive mode).
pub fn vsftpd(root: &Path) -> Server {
    let bin = crate::require_tool("vsftpd");
    let dir = tempfile::Builder::new()
        .prefix("mm-testkit-ftp-")
        .tempdir()
        .unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let port = crate::free_port();
    let pasv = crate::free_port();
    let conf = dir.path().join("vsftpd.conf");
    std::fs::write(
        &conf,
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
             anonymous_enable=YES\nno_anon_password=YES\nanon_root={root}\nlocal_enable=NO\nwrite_enable=NO\n\
             pasv_enable=YES\npasv_address=127.0.0.1\npasv_min_port={pasv}\npasv_max_port={pasv_max}\n\
             secure_chroot_dir={empty}\nseccomp_sandbox=NO\nrun_as_launching_user=YES\n\
             xferlog_enable=NO\nvsftpd_log_file={log}\nmax_per_ip=50\nmax_clients=200\n",
            root = root.display(),
            empty = empty.display(),
            pasv_max = pasv.saturating_add(200),
            log = dir.path().join("vsftpd.log").display(),
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vsftpd");
    wait_port(port);
    Server {
        port,
        child,
        _dir: dir,
    }
}

/// An rsync daemon on 127.0.0.1 exporting `path` as module `mirror` (read-only).
pub fn rsync_daemon(path: &Path) -> Server {
    rsync_daemon_modules(&[("mirror", path)])
}

/// An rsync daemon on 127.0.0.1 exporting each `(module, path)` read-only.
pub fn rsync_daemon_modules(modules: &[(&str, &Path)]) -> Server {
    let rsync = crate::require_tool("rsync");
    let dir = tempfile::Builder::new()
        .prefix("mm-testkit-rsync-")
        .tempdir()
        .unwrap();
    let port = crate::free_port();
    let conf = dir.path().join("rsyncd.conf");
    let mut text = format!(
        "use chroot = no\nuid = root\ngid = root\nmax connections = 0\npid file = {}/rsyncd.pid\nlog file = {}/rsyncd.log\n",
        dir.path().display(),
        dir.path().display()
    );
    for (name, path) in modules {
        text += &format!("[{name}]\npath = {}\nread only = yes\n", path.display());
    }
    std::fs::write(&conf, text).unwrap();
    let child = Command::new(rsync)
        .args(["--daemon", "--no-detach", "--address=127.0.0.1"])
        .arg(format!("--port={port}"))
        .arg(format!("--config={}", conf.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rsync daemon");
    wait_port(port);
    Server {
        port,
        child,
        _dir: dir,
    }
}

/// nginx serving `root` as static files (with directory listings and keep-alive) on
/// 127.0.0.1.
///
/// One process (`master_process off`): the harness stops it with SIGKILL, which would leave a
/// master's worker running behind it.
pub fn nginx(root: &Path) -> Server {
    let bin = crate::require_tool("nginx");
    let dir = tempfile::Builder::new()
        .prefix("mm-testkit-nginx-")
        .tempdir()
        .unwrap();
    let port = crate::free_port();
    let d = dir.path().display();
    let user = if crate::is_root() { "user root;\n" } else { "" };
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "{user}daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             types {{ application/xml xml; text/plain txt; text/html html; text/css css; application/json json; image/png png; }}\n default_type application/octet-stream;\n\
             keepalive_requests 100000;\n\
             server {{ listen 127.0.0.1:{port}; root {root}; autoindex on; }}\n}}\n",
            root = root.display(),
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    wait_port(port);
    Server {
        port,
        child,
        _dir: dir,
    }
}

/// How a fault mirror misbehaves (faults a real server cannot produce on demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Accept connections and never answer.
    Hang,
    /// Answer one byte every 300 ms, forever.
    Drip,
    /// Start an answer, then reset the connection.
    Reset,
    /// `500 Internal Server Error` for everything.
    Error500,
    /// Bytes that are not HTTP.
    Garbage,
    /// `302` back to the same URL, forever.
    RedirectLoop,
}

/// A fault mirror on a real 127.0.0.1 socket; stops when dropped.
#[derive(Debug)]
pub struct FaultServer {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Start a fault mirror.
pub fn fault_http(fault: Fault) -> FaultServer {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut conn) = conn else { continue };
            let flag = flag.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut h = String::new();
                    match reader.read_line(&mut h) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if h == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                let target = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                match fault {
                    Fault::Hang => {
                        while !flag.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    Fault::Drip => {
                        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                            .iter()
                            .cycle()
                        {
                            if flag.load(Ordering::SeqCst) || conn.write_all(&[*b]).is_err() {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(300));
                        }
                    }
                    Fault::Reset => {
                        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
                        let _ = socket_reset(&conn);
                    }
                    Fault::Error500 => {
                        let _ = conn.write_all(
                            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\nConnection: close\r\n\r\nbroken",
                        );
                    }
                    Fault::Garbage => {
                        let _ = conn
                            .write_all(b"\x00\x01garbage that is not HTTP at all\r\n\r\n\xff\xfe");
                    }
                    Fault::RedirectLoop => {
                        let _ = write!(
                            conn,
                            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}{target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                    }
                }
            });
        }
    });
    FaultServer { port, stop }
}

/// Close a connection with a TCP reset (SO_LINGER 0) instead of a clean FIN.
fn socket_reset(conn: &TcpStream) -> std::io::Result<()> {
    // SO_LINGER on with a zero timeout makes close() drop the connection with a TCP RST
    // instead of a FIN, which is what a crashing or firewalled mirror produces; the caller
    // drops `conn` right after.
    socket2::SockRef::from(conn).set_linger(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Read, Write};

    /// The children of process `pid` (from /proc).
    fn children(pid: u32) -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                    // pid (comm) state ppid …: the comm may hold spaces, so split after ')'
                    s.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        .and_then(|pp| pp.parse::<u32>().ok())
                        == Some(pid)
                })
            })
            .collect()
    }

    #[test]
    fn nginx_is_one_process_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let s = nginx(dir.path());
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.write_all(b"GET /a.txt HTTP/1.0\r\n\r\n").unwrap();
        let mut reply = String::new();
        c.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert_eq!(children(s.child.id()), Vec::<u32>::new());
    }

    #[test]
    fn reset_fault_sends_a_tcp_reset() {
        let f = fault_http(Fault::Reset);
        let mut c = TcpStream::connect(("127.0.0.1", f.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let e = c.read_to_end(&mut buf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
    }
}

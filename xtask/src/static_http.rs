//! A tiny static file server (GET and HEAD, one thread per connection, `Connection: close`)
//! so `cargo xtask demo` needs no web server package. For the demo only.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A running server; stops accepting when dropped.
#[derive(Debug)]
pub struct StaticServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serve `root` on a free 127.0.0.1 port.
pub fn serve(root: &Path) -> std::io::Result<StaticServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let stop = Arc::new(AtomicBool::new(false));
    let root = root.to_path_buf();
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            if let Ok(conn) = conn {
                let root = root.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &root);
                });
            }
        }
    });
    Ok(StaticServer { port, stop })
}

fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let path = url_path.split('?').next()?;
    let mut out = root.to_path_buf();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn handle(mut conn: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let file = resolve(root, target).filter(|p| p.is_file());
    match (method, file) {
        ("GET" | "HEAD", Some(p)) => {
            let body = std::fs::read(&p)?;
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method == "GET" {
                conn.write_all(&body)?;
            }
        }
        ("GET" | "HEAD", None) => {
            conn.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
        _ => conn.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?,
    }
    conn.flush()
}

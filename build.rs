//! Embeds the site's static assets into the server binary so that one file is the whole
//! deployable. Sources: `style/*.css` (served as /pkg/youmeyou.css), `public/**` (served at the
//! root) and the WASM bundle that `./dev` writes to `target/site/pkg` (served under /pkg).
//! Each asset is stored raw, brotli- and gzip-compressed, with a strong ETag.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=YOUMEYOU_SITE_DIR");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let table = out_dir.join("assets.rs");
    if std::env::var_os("CARGO_FEATURE_SSR").is_none() {
        // The WASM build needs no embedded assets.
        std::fs::write(&table, "pub static ASSETS: &[Asset] = &[];\n").expect("write assets.rs");
        return;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let site = std::env::var_os("YOUMEYOU_SITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("target/site"));
    let pkg = site.join("pkg");
    // A missing directory would make cargo re-run this script on every build.
    let _ = std::fs::create_dir_all(&pkg);
    let style = manifest.join("style");
    let public = manifest.join("public");
    for dir in [&pkg, &style, &public] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }

    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    collect(&public, &public, "/", &mut files);
    collect(&pkg, &pkg, "/pkg/", &mut files);
    // All style sheets are concatenated into one file, in name order.
    let mut css = String::new();
    let mut sheets: Vec<PathBuf> = read_dir_sorted(&style)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "css"))
        .collect();
    sheets.sort();
    for sheet in &sheets {
        css.push_str(&std::fs::read_to_string(sheet).expect("read style sheet"));
        css.push('\n');
    }
    let css_path = out_dir.join("youmeyou.css");
    std::fs::write(&css_path, css).expect("write css");
    files.insert("/pkg/youmeyou.css".into(), css_path);

    // Release builds compress hard; debug builds (with a large unoptimised WASM) stay quick.
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let quality = if release { 11 } else { 4 };

    let mut code = String::from("pub static ASSETS: &[Asset] = &[\n");
    for (index, (url, path)) in files.iter().enumerate() {
        let raw = std::fs::read(path).expect("read asset");
        let etag = format!("{:016x}", fnv1a(&raw));
        let raw_path = out_dir.join(format!("asset{index}.raw"));
        std::fs::write(&raw_path, &raw).expect("write asset");
        let mime = mime_of(url);
        let compressible = !matches!(
            mime,
            "image/png" | "image/jpeg" | "image/webp" | "font/woff2"
        );
        let (br, gz) = if compressible && raw.len() > 256 {
            let br_path = out_dir.join(format!("asset{index}.br"));
            let gz_path = out_dir.join(format!("asset{index}.gz"));
            let mut br = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut br, 64 * 1024, quality, 22);
                w.write_all(&raw).expect("brotli");
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&raw).expect("gzip");
            let gz = gz.finish().expect("gzip");
            std::fs::write(&br_path, &br).expect("write br");
            std::fs::write(&gz_path, &gz).expect("write gz");
            (
                format!("Some(include_bytes!({:?}))", br_path.display().to_string()),
                format!("Some(include_bytes!({:?}))", gz_path.display().to_string()),
            )
        } else {
            ("None".into(), "None".into())
        };
        let _ = writeln!(
            code,
            "    Asset {{ path: {url:?}, mime: {mime:?}, etag: {etag:?}, raw: include_bytes!({raw:?}), br: {br}, gz: {gz} }},",
            raw = raw_path.display().to_string(),
        );
    }
    code.push_str("];\n");
    std::fs::write(&table, code).expect("write assets.rs");
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn collect(root: &Path, dir: &Path, prefix: &str, files: &mut BTreeMap<String, PathBuf>) {
    for path in read_dir_sorted(dir) {
        if path.is_dir() {
            collect(root, &path, prefix, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            let rel = rel.to_string_lossy().replace('\\', "/");
            files.insert(format!("{prefix}{rel}"), path);
        }
    }
}

fn mime_of(url: &str) -> &'static str {
    let ext = url.rsplit('.').next().unwrap_or("");
    match ext {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// 64-bit FNV-1a: a content hash for ETags (not security relevant).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

//! The bundled worlds the picker offers.

use std::path::{Path, PathBuf};

/// The world files of `dir` and of its folders one level down, by folder, each with the first
/// line of its header comment; sweep and search specs are left out.
pub fn bundled(dir: &Path) -> Vec<(PathBuf, Vec<(PathBuf, String)>)> {
    let list = |d: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> =
            std::fs::read_dir(d).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        v.sort();
        v
    };
    let mut folders = vec![dir.to_path_buf()];
    folders.extend(list(dir).into_iter().filter(|p| p.is_dir()));
    let mut out = Vec::new();
    for f in folders {
        let mut worlds = Vec::new();
        for p in list(&f).into_iter().filter(|p| p.extension().is_some_and(|x| x == "ron")) {
            // a world file is small; anything that does not read is simply not listed
            let Ok(text) = meshsim_scenario::input::read_text(&p, 1 << 20, "a world file") else { continue };
            let body =
                text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#!"));
            if !body.is_some_and(|l| l.starts_with("World")) {
                continue;
            }
            let description = text
                .lines()
                .map_while(|l| l.trim().strip_prefix("//"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .find(|l| !l.starts_with("meshsim "))
                .unwrap_or("")
                .to_string();
            worlds.push((p, description));
        }
        if !worlds.is_empty() {
            out.push((f, worlds));
        }
    }
    out
}

//! `mge atomize` over files and directories: files come out in path order whatever order the
//! threads finished them in, a syntax error gives exit 1 with the file still tiled, and an
//! unreadable input gives exit 2.

use crate::common::{mge, text};

fn atomize_json(args: &[&std::path::Path]) -> (Option<i32>, serde_json::Value, String) {
    let out = mge()
        .arg("atomize")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json, stderr)
}

#[test]
fn a_directory_is_atomized_in_path_order_and_syntax_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // Sizes differ so the largest-first schedule differs from path order.
    let sizes = [3, 40, 1, 25, 12];
    for (i, n) in sizes.iter().enumerate() {
        let body: String = (0..*n)
            .map(|k| format!("def f{k}(x):\n    return x + {k}\n\n"))
            .collect();
        std::fs::write(dir.path().join(format!("m{i}.py")), body).unwrap();
    }
    std::fs::write(dir.path().join("broken.py"), "def f(:\n    pass\n").unwrap();

    let (code, json, stderr) = atomize_json(&[dir.path()]);
    assert_eq!(code, Some(1), "{stderr}");
    let files = json["files"].as_array().unwrap();
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["broken.py", "m0.py", "m1.py", "m2.py", "m3.py", "m4.py"]
    );
    let broken = &files[0];
    assert_eq!(broken["atoms"].as_array().unwrap().len(), 1);
    assert_eq!(broken["atoms"][0]["kind"], "unparsed");
    assert!(
        broken["diagnostics"][0]["line"].as_u64().is_some(),
        "{}",
        broken["diagnostics"]
    );
    for (f, n) in files[1..].iter().zip(sizes) {
        assert_eq!(f["atoms"].as_array().unwrap().len(), n, "{}", f["path"]);
    }

    // Each file alone gives the same atoms as in the directory run.
    let single = dir.path().join("m1.py");
    let (code, alone, _) = atomize_json(&[&single]);
    assert_eq!(code, Some(0));
    let ids = |f: &serde_json::Value| -> Vec<String> {
        f["atoms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a["id"]
                    .as_str()
                    .unwrap()
                    .rsplit("::")
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(ids(&alone["files"][0]), ids(&files[2]));
}

#[test]
fn unreadable_or_non_utf8_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let latin1 = dir.path().join("latin1.py");
    std::fs::write(&latin1, b"x = '\xe9'\n").unwrap();
    let (code, _, stderr) = atomize_json(&[&latin1]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("latin1.py") && stderr.contains("not UTF-8") && stderr.contains("offset 5"),
        "{stderr}"
    );
    let missing = dir.path().join("missing.py");
    let (code, _, stderr) = atomize_json(&[&missing]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("missing.py"), "{stderr}");
}

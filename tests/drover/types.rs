//! Editor types: every function a module written in Rust registers has a LuaLS annotation
//! (the drift test), and `drover types --out DIR` writes a usable editor setup.

use std::process::Command;

use libtest_mimic::{Failed, Trial};

fn ensure(cond: bool, what: impl std::fmt::Display) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(what.to_string().into())
    }
}

/// Every function of every module table drover registers (whatever `package.loaded` holds
/// besides Lua's own libraries), and every host method, as `module.name` / `Host:name`.
const LIST: &str = r#"
local lua_own = { _G = true, string = true, table = true, math = true, io = true, os = true,
  coroutine = true, utf8 = true, debug = true, package = true }
local out = {}
for name, m in pairs(package.loaded) do
  if type(m) == "table" and not lua_own[name] and name ~= "drover.host" then
    for k, v in pairs(m) do
      if type(v) == "function" then out[#out + 1] = name .. "." .. k end
    end
  end
end
for k in pairs(require("drover.host").methods) do out[#out + 1] = "Host:" .. k end
table.sort(out)
return table.concat(out, "\n")
"#;

fn annotations_cover_rust_functions() -> Result<(), Failed> {
    let rt = drover::Runtime::builder().build()?;
    let listed = rt.eval(LIST)?;
    let names = listed
        .into_iter()
        .next()
        .and_then(|v| v.as_string().map(|s| s.to_string_lossy()))
        .ok_or("no list")?;
    let files = drover::runtime::type_files();
    let all: String = files.iter().map(|(_, text)| *text).collect();
    let missing: Vec<&str> = names
        .lines()
        // (a module loaded as `drover.X` is annotated as `X`: `function X.name(`)
        .filter(|n| {
            let short = n.strip_prefix("drover.").unwrap_or(n);
            !all.contains(&format!("function {n}(")) && !all.contains(&format!("function {short}("))
        })
        .collect();
    ensure(
        names.lines().count() > 40,
        format!("too few functions listed: {names}"),
    )?;
    ensure(
        missing.is_empty(),
        format!(
            "registered in Rust but not annotated in stdlib/drover/_meta/: {}",
            missing.join(", ")
        ),
    )
}

fn types_command_writes_an_editor_setup() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("drover-types-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_drover"))
            .args(["types", "--out"])
            .arg(&dir)
            .output()
    };
    let result = (|| -> Result<(), Failed> {
        let out = run()?;
        ensure(out.status.success(), String::from_utf8_lossy(&out.stderr))?;
        for rel in [
            "drover/_meta/ssh.lua",
            "drover/_meta/host.lua",
            "drover/shell.lua",
        ] {
            ensure(dir.join(rel).is_file(), format!("{rel} not written"))?;
        }
        let rc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(".luarc.json"))?)?;
        let root = std::fs::canonicalize(&dir)?.display().to_string();
        ensure(
            rc["workspace.library"][0] == root.as_str() && rc["runtime.version"] == "Lua 5.4",
            rc.to_string(),
        )?;
        // a second run leaves the editor configuration alone, and says so
        std::fs::write(dir.join(".luarc.json"), "{\"mine\": true}")?;
        let again = run()?;
        let err = String::from_utf8_lossy(&again.stderr);
        ensure(
            again.status.success() && err.contains("left as it is"),
            &err,
        )?;
        ensure(
            std::fs::read_to_string(dir.join(".luarc.json"))? == "{\"mine\": true}",
            ".luarc.json overwritten",
        )
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "types::annotations_cover_rust_functions",
            annotations_cover_rust_functions,
        ),
        Trial::test(
            "types::command_writes_an_editor_setup",
            types_command_writes_an_editor_setup,
        ),
    ]
}

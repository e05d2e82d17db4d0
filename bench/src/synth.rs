//! A deterministic synthetic 4D project: methods, classes, forms with their methods, images.

use std::fs;
use std::path::Path;

/// A small, fast, deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "$customer",
    "$order",
    "$total",
    "$i",
    "$entity",
    "$selection",
    "$form",
    "$result",
    "$status",
    "$line",
    "ds",
    "Customers",
    "Orders",
    "Invoices",
    "Products",
    "query",
    "orderBy",
    "first",
    "length",
    "save",
    "drop",
    "Form",
    "This",
    "OB Get",
    "New object",
    "New collection",
    "String",
    "Num",
    "Current date",
    "Current time",
    "ALERT",
    "CONFIRM",
    "QUERY",
    "ORDER BY",
    "ALL RECORDS",
    "SAVE RECORD",
    "Records in selection",
    "Length",
    "Substring",
];

const STATEMENTS: &[&str] = &[
    "var {w} : Integer\n",
    "{w}:={w}+{n}\n",
    "If ({w}>{n})\n\t{w}:={w}.query(\"name = :1\"; {w})\nEnd if \n",
    "For ({w}; 1; {n})\n\t{w}:={w}+{w}\nEnd for \n",
    "// {w} {w} {w}\n",
    "Case of \n\t: ({w}=\"{w}\")\n\t\tALERT(\"{w} {n}\")\nEnd case \n",
    "{w}:=ds.{w}.query(\"ID = :1\"; {n}).first()\n",
    "$0:=New object(\"{w}\"; {n}; \"{w}\"; {w})\n",
];

fn code(rng: &mut Rng, target: usize) -> String {
    let mut s = String::with_capacity(target + 200);
    s.push_str("//%attributes = {\"lang\":\"en\"}\n");
    while s.len() < target {
        let t = STATEMENTS[rng.below(STATEMENTS.len() as u64) as usize];
        let mut parts = t.split('{');
        s.push_str(parts.next().unwrap_or_default());
        for p in parts {
            if let Some(rest) = p.strip_prefix("w}") {
                s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
                s.push_str(rest);
            } else if let Some(rest) = p.strip_prefix("n}") {
                s.push_str(&rng.below(10_000).to_string());
                s.push_str(rest);
            }
        }
    }
    s
}

fn form(rng: &mut Rng, target: usize) -> String {
    let mut s = String::from(
        "{\n\t\"$4d\": {\"version\": \"1\", \"kind\": \"form\"},\n\t\"pages\": [null, {\"objects\": {\n",
    );
    let mut i = 0;
    while s.len() < target {
        let kind = ["input", "button", "text", "listbox", "checkbox"][rng.below(5) as usize];
        s.push_str(&format!(
            "\t\t\"{kind}{i}\": {{\"type\": \"{kind}\", \"left\": {}, \"top\": {}, \"width\": {}, \"height\": {}, \"dataSource\": \"Form.{}\", \"events\": [\"onClick\", \"onDataChange\"]}},\n",
            rng.below(800),
            rng.below(600),
            20 + rng.below(300),
            16 + rng.below(40),
            WORDS[rng.below(WORDS.len() as u64) as usize].trim_start_matches('$')
        ));
        i += 1;
    }
    s.push_str("\t\t\"end\": {}\n\t}}]\n}\n");
    s
}

fn image(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(size);
    v.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    while v.len() < size {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v.truncate(size);
    v
}

/// What was generated.
pub struct Synth {
    pub files: usize,
    pub bytes: u64,
}

/// Writes the project under `root`: at `scale` 1.0, 20,000 files and about 300 MB.
pub fn generate(root: &Path, scale: f64) -> std::io::Result<Synth> {
    let mut rng = Rng::new(0x4D_5EED);
    let n = |count: f64| ((count * scale).round() as usize).max(1);
    let mut files = 0;
    let mut bytes = 0u64;
    let mut put = |rel: &str, data: &[u8]| -> std::io::Result<()> {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(p, data)?;
        files += 1;
        bytes += data.len() as u64;
        Ok(())
    };
    put(
        "Project/Synthetic.4DProject",
        b"{\"compatibilityVersion\": 2040}\n",
    )?;
    for i in 0..n(10_999.0) {
        let size = 2_000 + rng.below(4_000) as usize;
        put(
            &format!("Project/Sources/Methods/method_{i:05}.4dm"),
            code(&mut rng, size).as_bytes(),
        )?;
    }
    for i in 0..n(1_000.0) {
        let size = 2_000 + rng.below(4_000) as usize;
        put(
            &format!("Project/Sources/Classes/Class{i:04}.4dm"),
            code(&mut rng, size).as_bytes(),
        )?;
    }
    let forms = n(2_500.0);
    for i in 0..forms {
        let size = 20_000 + rng.below(20_000) as usize;
        put(
            &format!("Project/Sources/Forms/Form{i:04}/form.4DForm"),
            form(&mut rng, size).as_bytes(),
        )?;
        put(
            &format!("Project/Sources/Forms/Form{i:04}/method.4dm"),
            code(&mut rng, 2_000).as_bytes(),
        )?;
    }
    for i in 0..n(3_000.0) {
        let size = 30_000 + rng.below(56_000) as usize;
        put(
            &format!(
                "Project/Sources/Forms/Form{:04}/Images/picture{i:04}.png",
                i % forms
            ),
            &image(&mut rng, size),
        )?;
    }
    Ok(Synth { files, bytes })
}

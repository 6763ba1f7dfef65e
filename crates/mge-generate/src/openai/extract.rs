//! Code extraction from a chat reply: the fenced block for the language, text around it ignored.

use mge_core::Language;

struct Block {
    info: String,
    lines: Vec<String>,
}

fn language_tags(language: Language) -> &'static [&'static str] {
    match language {
        Language::Python => &["python", "py", "python3"],
        Language::TypeScript => &["typescript", "ts", "tsx"],
        Language::JavaScript => &["javascript", "js", "jsx", "mjs", "node"],
    }
}

/// The opening fence of a line (three or more backticks or tildes) and its info string.
fn fence(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|c| *c == marker).count();
    if len < 3 {
        return None;
    }
    let info = trimmed[len..].trim().to_string();
    Some((marker.to_string().repeat(len), info))
}

/// Extract the code from a reply.
///
/// With fenced blocks (```` ``` ```` or `~~~`), the first block tagged with the language (e.g.
/// `python`, `py`) wins, else the first untagged block, else the first block; an unclosed fence
/// runs to the end of the reply. Without fences the whole reply is the code. Leading and trailing
/// blank lines are dropped and the code ends with one newline (empty replies give "").
pub fn extract_code(reply: &str, language: Language) -> String {
    let mut blocks: Vec<Block> = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for line in reply.lines() {
        match open.take() {
            Some((marker, mut block)) => {
                let t = line.trim();
                if t.starts_with(&marker) && t.chars().all(|c| marker.starts_with(c)) {
                    blocks.push(block);
                } else {
                    block.lines.push(line.to_string());
                    open = Some((marker, block));
                }
            }
            None => {
                if let Some((marker, info)) = fence(line) {
                    let block = Block {
                        info,
                        lines: Vec::new(),
                    };
                    open = Some((marker, block));
                }
            }
        }
    }
    if let Some((_, block)) = open {
        blocks.push(block);
    }

    let tags = language_tags(language);
    let chosen = blocks
        .iter()
        .find(|b| {
            let tag = b
                .info
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            tags.contains(&tag.as_str())
        })
        .or_else(|| blocks.iter().find(|b| b.info.is_empty()))
        .or_else(|| blocks.first());
    let lines: Vec<&str> = match chosen {
        Some(block) => block.lines.iter().map(String::as_str).collect(),
        None => reply.lines().collect(),
    };
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => {
            let mut code = lines[s..=e].join("\n");
            code.push('\n');
            code
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(reply: &str, language: Language, expected: Expect) {
        expected.assert_eq(&extract_code(reply, language));
    }

    #[test]
    fn plain_fenced_block() {
        check(
            "```python\ndef f(x):\n    return x + 1\n```\n",
            Language::Python,
            expect![[r#"
                def f(x):
                    return x + 1
            "#]],
        );
    }

    #[test]
    fn text_around_the_fence_is_ignored() {
        check(
            "Here is the function:\n\n```py\n\ndef f():\n    pass\n\n```\nIt returns None.",
            Language::Python,
            expect![[r#"
                def f():
                    pass
            "#]],
        );
    }

    #[test]
    fn the_block_of_the_language_wins() {
        check(
            "```text\nnot code\n```\n```ts\nexport const x: number = 1;\n```\n",
            Language::TypeScript,
            expect![[r#"
                export const x: number = 1;
            "#]],
        );
        check(
            "```bash\nnpm test\n```\n```\nconst y = 2;\n```\n",
            Language::JavaScript,
            expect![[r#"
                const y = 2;
            "#]],
        );
    }

    #[test]
    fn unclosed_fence_runs_to_the_end_and_longer_fences_nest() {
        check(
            "```js\nconst a = 1;\nconst b = 2;",
            Language::JavaScript,
            expect![[r#"
                const a = 1;
                const b = 2;
            "#]],
        );
        check(
            "````python\ns = '''\n```\n'''\n````\n",
            Language::Python,
            expect![[r#"
                s = '''
                ```
                '''
            "#]],
        );
    }

    #[test]
    fn no_fence_means_the_whole_reply() {
        check(
            "\n\nx = 1\ny = 2\n\n",
            Language::Python,
            expect![[r#"
                x = 1
                y = 2
            "#]],
        );
        assert_eq!(extract_code("", Language::Python), "");
        assert_eq!(extract_code("```python\n```", Language::Python), "");
    }
}

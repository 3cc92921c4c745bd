//! A small hand-written syntax highlighter for the languages the agents generate (sql, yaml,
//! json, js/ts/jsx, rust, nginx/conf, dockerfile): keywords, strings, comments, numbers and
//! keys. It only splits text into classified tokens; the viewer renders each token as a text
//! node, so file content is never interpreted as HTML. [`to_html`] (escaped) exists for
//! callers that need a string. Pure and allocation-light; unknown languages come out plain.

/// What a token is, for its CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Plain,
    Keyword,
    String,
    Comment,
    Number,
    /// A property name: YAML/JSON keys, Dockerfile/nginx directives.
    Key,
}

impl Tok {
    pub fn class(self) -> &'static str {
        match self {
            Tok::Plain => "tok",
            Tok::Keyword => "tok tok-kw",
            Tok::String => "tok tok-str",
            Tok::Comment => "tok tok-com",
            Tok::Number => "tok tok-num",
            Tok::Key => "tok tok-key",
        }
    }
}

/// The languages the highlighter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Sql,
    Yaml,
    Json,
    Js,
    Rust,
    Nginx,
    Dockerfile,
    Plain,
}

impl Lang {
    /// From a file's `language` (as `fileGenerated` says it) and, failing that, its path.
    pub fn detect(language: &str, path: &str) -> Lang {
        let by_name = match language.to_ascii_lowercase().as_str() {
            "sql" | "postgresql" | "mysql" => Some(Lang::Sql),
            "yaml" | "yml" => Some(Lang::Yaml),
            "json" => Some(Lang::Json),
            "javascript" | "js" | "jsx" | "typescript" | "ts" | "tsx" | "node" => Some(Lang::Js),
            "rust" | "rs" => Some(Lang::Rust),
            "nginx" | "conf" | "config" | "redis" => Some(Lang::Nginx),
            "dockerfile" | "docker" => Some(Lang::Dockerfile),
            _ => None,
        };
        if let Some(lang) = by_name {
            return lang;
        }
        let file = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        if file == "dockerfile" || file.starts_with("dockerfile.") || file.ends_with(".dockerfile")
        {
            return Lang::Dockerfile;
        }
        match file.rsplit_once('.').map(|(_, ext)| ext) {
            Some("sql") => Lang::Sql,
            Some("yml" | "yaml") => Lang::Yaml,
            Some("json") => Lang::Json,
            Some("js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs") => Lang::Js,
            Some("rs") => Lang::Rust,
            Some("conf") => Lang::Nginx,
            _ => Lang::Plain,
        }
    }

    fn line_comment(self) -> &'static [&'static str] {
        match self {
            Lang::Sql => &["--"],
            Lang::Yaml | Lang::Nginx | Lang::Dockerfile => &["#"],
            Lang::Js | Lang::Rust => &["//"],
            Lang::Json | Lang::Plain => &[],
        }
    }

    fn block_comment(self) -> Option<(&'static str, &'static str)> {
        match self {
            Lang::Sql | Lang::Js | Lang::Rust => Some(("/*", "*/")),
            _ => None,
        }
    }

    fn quotes(self) -> &'static [char] {
        match self {
            Lang::Js => &['"', '\'', '`'],
            Lang::Rust | Lang::Json => &['"'],
            Lang::Plain => &[],
            _ => &['"', '\''],
        }
    }

    fn case_insensitive(self) -> bool {
        matches!(self, Lang::Sql | Lang::Dockerfile)
    }

    fn keywords(self) -> &'static [&'static str] {
        match self {
            Lang::Sql => &[
                "select",
                "from",
                "where",
                "insert",
                "into",
                "values",
                "update",
                "set",
                "delete",
                "create",
                "table",
                "index",
                "unique",
                "primary",
                "key",
                "foreign",
                "references",
                "not",
                "null",
                "default",
                "constraint",
                "on",
                "cascade",
                "alter",
                "add",
                "drop",
                "if",
                "exists",
                "and",
                "or",
                "join",
                "left",
                "right",
                "inner",
                "outer",
                "as",
                "order",
                "by",
                "group",
                "having",
                "limit",
                "offset",
                "returning",
                "check",
                "varchar",
                "text",
                "integer",
                "int",
                "bigint",
                "serial",
                "bigserial",
                "boolean",
                "timestamp",
                "timestamptz",
                "numeric",
                "decimal",
                "uuid",
                "jsonb",
                "json",
                "date",
                "real",
                "float",
                "double",
                "precision",
                "char",
                "smallint",
                "now",
                "true",
                "false",
                "view",
                "trigger",
                "function",
                "begin",
                "commit",
                "extension",
                "using",
                "with",
                "in",
                "is",
                "like",
                "distinct",
                "count",
                "enum",
                "type",
                "auto_increment",
                "engine",
                "charset",
            ],
            Lang::Yaml => &["true", "false", "null", "yes", "no", "on", "off", "~"],
            Lang::Json => &["true", "false", "null"],
            Lang::Js => &[
                "const",
                "let",
                "var",
                "function",
                "return",
                "if",
                "else",
                "for",
                "while",
                "do",
                "switch",
                "case",
                "break",
                "continue",
                "new",
                "class",
                "extends",
                "import",
                "export",
                "from",
                "default",
                "async",
                "await",
                "try",
                "catch",
                "finally",
                "throw",
                "typeof",
                "instanceof",
                "in",
                "of",
                "this",
                "super",
                "null",
                "undefined",
                "true",
                "false",
                "interface",
                "type",
                "enum",
                "implements",
                "public",
                "private",
                "protected",
                "readonly",
                "static",
                "yield",
                "delete",
                "void",
                "as",
                "require",
                "module",
            ],
            Lang::Rust => &[
                "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else",
                "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match",
                "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct",
                "super", "trait", "true", "type", "unsafe", "use", "where", "while", "Some",
                "None", "Ok", "Err",
            ],
            Lang::Nginx => &[
                "server",
                "location",
                "upstream",
                "http",
                "events",
                "listen",
                "server_name",
                "proxy_pass",
                "proxy_set_header",
                "root",
                "index",
                "return",
                "include",
                "worker_processes",
                "worker_connections",
                "keepalive",
                "least_conn",
                "ip_hash",
                "max_fails",
                "fail_timeout",
                "weight",
                "backup",
                "ssl_certificate",
                "ssl_certificate_key",
                "limit_req",
                "limit_req_zone",
                "add_header",
                "if",
                "set",
                "rewrite",
                "try_files",
                "gzip",
                "on",
                "off",
                "bind",
                "port",
                "cluster-enabled",
                "cluster-config-file",
                "cluster-node-timeout",
                "appendonly",
                "maxmemory",
                "maxmemory-policy",
                "save",
                "requirepass",
                "protected-mode",
                "daemonize",
            ],
            Lang::Dockerfile => &[
                "from",
                "run",
                "cmd",
                "label",
                "expose",
                "env",
                "add",
                "copy",
                "entrypoint",
                "volume",
                "user",
                "workdir",
                "arg",
                "onbuild",
                "stopsignal",
                "healthcheck",
                "shell",
                "as",
            ],
            Lang::Plain => &[],
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    lang: Lang,
    out: Vec<(Tok, &'a str)>,
    plain_start: usize,
}

impl<'a> Lexer<'a> {
    /// Word characters; `-` joins words in YAML keys and config directives.
    fn word_char(&self, c: char) -> bool {
        is_word_char(c)
            || (c == '-' && matches!(self.lang, Lang::Yaml | Lang::Nginx | Lang::Dockerfile))
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn flush_plain(&mut self) {
        if self.plain_start < self.pos {
            self.out
                .push((Tok::Plain, &self.src[self.plain_start..self.pos]));
        }
    }

    fn emit(&mut self, tok: Tok, end: usize) {
        self.flush_plain();
        let end = end.min(self.src.len()).max(self.pos);
        if end > self.pos {
            self.out.push((tok, &self.src[self.pos..end]));
        }
        self.pos = end;
        self.plain_start = end;
    }

    fn at_line_start(&self) -> bool {
        self.src[..self.pos]
            .rsplit('\n')
            .next()
            .is_none_or(|before| before.trim().is_empty())
    }

    /// Byte index where the string starting at `pos` (quote `q`) ends (after the close).
    fn string_end(&self, q: char) -> usize {
        let mut escaped = false;
        let start = self.pos + q.len_utf8();
        for (i, c) in self.src[start..].char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            if c == '\\' && self.lang != Lang::Sql {
                escaped = true;
            } else if c == q {
                return start + i + c.len_utf8();
            } else if c == '\n' && q != '`' && self.lang != Lang::Sql {
                // Unterminated on this line: stop at the line end.
                return start + i;
            }
        }
        self.src.len()
    }

    fn run(mut self) -> Vec<(Tok, &'a str)> {
        while self.pos < self.src.len() {
            let rest = self.rest();
            let Some(c) = rest.chars().next() else { break };
            // Comments.
            if let Some((open, close)) = self.lang.block_comment() {
                if let Some(body) = rest.strip_prefix(open) {
                    let end = body
                        .find(close)
                        .map_or(self.src.len(), |i| self.pos + open.len() + i + close.len());
                    self.emit(Tok::Comment, end);
                    continue;
                }
            }
            if self.lang.line_comment().iter().any(|p| rest.starts_with(p))
                && self.comment_allowed()
            {
                let end = rest.find('\n').map_or(self.src.len(), |i| self.pos + i);
                self.emit(Tok::Comment, end);
                continue;
            }
            // Strings (Rust: `'a` is a lifetime unless it closes right away).
            if self.lang.quotes().contains(&c) {
                let end = self.string_end(c);
                let is_key = matches!(self.lang, Lang::Json | Lang::Yaml)
                    && self.src[end..]
                        .trim_start_matches([' ', '\t'])
                        .starts_with(':');
                self.emit(if is_key { Tok::Key } else { Tok::String }, end);
                continue;
            }
            if self.lang == Lang::Rust && c == '\'' {
                let chars: Vec<char> = rest.chars().take(4).collect();
                let end = if chars.get(2) == Some(&'\'') {
                    Some(chars[..3].iter().map(|c| c.len_utf8()).sum::<usize>())
                } else if chars.get(1) == Some(&'\\') && chars.get(3) == Some(&'\'') {
                    Some(chars.iter().map(|c| c.len_utf8()).sum::<usize>())
                } else {
                    None
                };
                if let Some(len) = end {
                    self.emit(Tok::String, self.pos + len);
                    continue;
                }
            }
            // Numbers (not inside words).
            if c.is_ascii_digit() && !self.prev_is_word() {
                let len = rest
                    .char_indices()
                    .find(|(_, ch)| !(ch.is_ascii_alphanumeric() || *ch == '.' || *ch == '_'))
                    .map_or(rest.len(), |(i, _)| i);
                self.emit(Tok::Number, self.pos + len);
                continue;
            }
            // Words: keywords, keys.
            if is_word_char(c) && !c.is_ascii_digit() && !self.prev_is_word() {
                let len = rest
                    .char_indices()
                    .find(|(_, ch)| !self.word_char(*ch))
                    .map_or(rest.len(), |(i, _)| i);
                let word = &rest[..len];
                let tok = self.classify_word(word, len);
                self.emit(tok, self.pos + len);
                continue;
            }
            self.pos += c.len_utf8();
        }
        self.flush_plain();
        self.out
    }

    fn prev_is_word(&self) -> bool {
        self.src[..self.pos]
            .chars()
            .next_back()
            .is_some_and(|p| self.word_char(p) || p == '.')
    }

    /// `#` starts a comment in YAML only at a word boundary (not inside `a#b`).
    fn comment_allowed(&self) -> bool {
        match self.lang {
            Lang::Yaml | Lang::Nginx | Lang::Dockerfile => self.src[..self.pos]
                .chars()
                .next_back()
                .is_none_or(char::is_whitespace),
            _ => true,
        }
    }

    fn classify_word(&self, word: &str, len: usize) -> Tok {
        let after = &self.src[self.pos + len..];
        match self.lang {
            Lang::Yaml if self.at_line_start_or_dash() && after.starts_with(':') => {
                return Tok::Key;
            }
            Lang::Dockerfile => {
                if self.at_line_start() && self.is_keyword(word) {
                    return Tok::Keyword;
                }
                return Tok::Plain;
            }
            Lang::Nginx => {
                if self.is_keyword(word) {
                    return Tok::Keyword;
                }
                if self.at_line_start() {
                    return Tok::Key;
                }
                return Tok::Plain;
            }
            _ => {}
        }
        if self.is_keyword(word) {
            Tok::Keyword
        } else {
            Tok::Plain
        }
    }

    fn at_line_start_or_dash(&self) -> bool {
        self.src[..self.pos]
            .rsplit('\n')
            .next()
            .is_none_or(|before| before.trim().is_empty() || before.trim() == "-")
    }

    fn is_keyword(&self, word: &str) -> bool {
        let kws = self.lang.keywords();
        if self.lang.case_insensitive() {
            kws.iter().any(|k| k.eq_ignore_ascii_case(word))
        } else {
            kws.contains(&word)
        }
    }
}

/// Splits `code` into classified tokens. Concatenating the texts gives `code` back exactly.
pub fn tokenize(code: &str, lang: Lang) -> Vec<(Tok, &str)> {
    if lang == Lang::Plain {
        return if code.is_empty() {
            Vec::new()
        } else {
            vec![(Tok::Plain, code)]
        };
    }
    Lexer {
        src: code,
        pos: 0,
        lang,
        out: Vec::new(),
        plain_start: 0,
    }
    .run()
}

/// Tokens grouped by line (tokens spanning lines are split), for a numbered viewer.
pub fn lines(code: &str, lang: Lang) -> Vec<Vec<(Tok, String)>> {
    let mut out: Vec<Vec<(Tok, String)>> = vec![Vec::new()];
    for (tok, text) in tokenize(code, lang) {
        let mut parts = text.split('\n');
        if let Some(first) = parts.next() {
            if !first.is_empty() {
                if let Some(line) = out.last_mut() {
                    line.push((tok, first.to_string()));
                }
            }
        }
        for part in parts {
            let mut line = Vec::new();
            if !part.is_empty() {
                line.push((tok, part.to_string()));
            }
            out.push(line);
        }
    }
    if code.ends_with('\n') && out.len() > 1 && out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The highlighted code as escaped HTML (`<span class="tok tok-kw">…</span>`).
pub fn to_html(code: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(code.len() * 2);
    for (tok, text) in tokenize(code, lang) {
        if tok == Tok::Plain {
            out.push_str(&escape_html(text));
        } else {
            out.push_str("<span class=\"");
            out.push_str(tok.class());
            out.push_str("\">");
            out.push_str(&escape_html(text));
            out.push_str("</span>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(code: &str, lang: Lang) -> Vec<(Tok, String)> {
        tokenize(code, lang)
            .into_iter()
            .filter(|(t, _)| *t != Tok::Plain)
            .map(|(t, s)| (t, s.to_string()))
            .collect()
    }

    fn has(code: &str, lang: Lang, tok: Tok, text: &str) -> bool {
        kinds(code, lang)
            .iter()
            .any(|(t, s)| *t == tok && s == text)
    }

    #[test]
    fn tokens_reassemble_to_the_source() {
        let samples = [
            (
                "CREATE TABLE users (id SERIAL PRIMARY KEY); -- users\n/* x */",
                Lang::Sql,
            ),
            ("a: 1\nb: 'two' # c\n- d: true\n", Lang::Yaml),
            (
                "{\"a\": [1, 2.5, true, null], \"b\": \"x\\\"y\"}",
                Lang::Json,
            ),
            (
                "const x = `a${b}`; // c\nfunction f() { return 'q' }",
                Lang::Js,
            ),
            (
                "fn main<'a>(x: &'a str) -> char { let c = 'x'; /* b */ 42 }",
                Lang::Rust,
            ),
            ("upstream auth { server 10.0.0.1:3000; } # lb", Lang::Nginx),
            (
                "FROM node:20-alpine AS build\nRUN npm ci # deps\n",
                Lang::Dockerfile,
            ),
            ("héllo wörld ✓ \"unterminated\n", Lang::Js),
            ("", Lang::Sql),
        ];
        for (code, lang) in samples {
            let joined: String = tokenize(code, lang).iter().map(|(_, s)| *s).collect();
            assert_eq!(joined, code, "{lang:?}");
        }
    }

    #[test]
    fn sql_keywords_strings_comments_numbers() {
        let code = "CREATE TABLE recommendations (score NUMERIC DEFAULT 0.5, note TEXT DEFAULT 'n/a'); -- recs";
        assert!(has(code, Lang::Sql, Tok::Keyword, "CREATE"));
        assert!(has(code, Lang::Sql, Tok::Keyword, "TABLE"));
        assert!(has(code, Lang::Sql, Tok::Number, "0.5"));
        assert!(has(code, Lang::Sql, Tok::String, "'n/a'"));
        assert!(has(code, Lang::Sql, Tok::Comment, "-- recs"));
        assert!(!has(code, Lang::Sql, Tok::Keyword, "recommendations"));
    }

    #[test]
    fn yaml_keys_and_comments() {
        let code = "services:\n  redis:\n    image: \"redis:7\" # pinned\n    replicas: 3\n";
        assert!(has(code, Lang::Yaml, Tok::Key, "services"));
        assert!(has(code, Lang::Yaml, Tok::Key, "replicas"));
        assert!(has(code, Lang::Yaml, Tok::String, "\"redis:7\""));
        assert!(has(code, Lang::Yaml, Tok::Comment, "# pinned"));
        assert!(has(code, Lang::Yaml, Tok::Number, "3"));
    }

    #[test]
    fn json_keys_differ_from_values() {
        let code = r#"{"name": "auth", "port": 3000, "tls": false}"#;
        assert!(has(code, Lang::Json, Tok::Key, "\"name\""));
        assert!(has(code, Lang::Json, Tok::String, "\"auth\""));
        assert!(has(code, Lang::Json, Tok::Number, "3000"));
        assert!(has(code, Lang::Json, Tok::Keyword, "false"));
    }

    #[test]
    fn js_and_rust() {
        let js = "export const App = () => <div className=\"x\">{`hi`}</div>; // jsx";
        assert!(has(js, Lang::Js, Tok::Keyword, "export"));
        assert!(has(js, Lang::Js, Tok::String, "`hi`"));
        assert!(has(js, Lang::Js, Tok::Comment, "// jsx"));
        let rs = "pub fn f<'a>(s: &'a str) -> char { 'x' }";
        assert!(has(rs, Lang::Rust, Tok::Keyword, "pub"));
        assert!(has(rs, Lang::Rust, Tok::String, "'x'"));
        assert!(!kinds(rs, Lang::Rust)
            .iter()
            .any(|(t, s)| *t == Tok::String && s.starts_with("'a")));
    }

    #[test]
    fn nginx_and_dockerfile() {
        let conf = "upstream auth_service {\n  least_conn;\n  server auth-1:3000 max_fails=3;\n}\n";
        assert!(has(conf, Lang::Nginx, Tok::Keyword, "upstream"));
        assert!(has(conf, Lang::Nginx, Tok::Keyword, "least_conn"));
        let docker = "FROM node:20 AS base\nWORKDIR /app\nRUN echo from here\n";
        assert!(has(docker, Lang::Dockerfile, Tok::Keyword, "FROM"));
        assert!(has(docker, Lang::Dockerfile, Tok::Keyword, "WORKDIR"));
        assert!(
            !has(docker, Lang::Dockerfile, Tok::Keyword, "from"),
            "only instructions at line start"
        );
    }

    #[test]
    fn identifiers_with_digits_are_not_numbers() {
        assert!(!kinds("let user2 = v1;", Lang::Js)
            .iter()
            .any(|(t, _)| *t == Tok::Number));
    }

    #[test]
    fn detection_by_language_then_extension() {
        assert_eq!(Lang::detect("sql", "x.txt"), Lang::Sql);
        assert_eq!(Lang::detect("", "deploy/docker-compose.yml"), Lang::Yaml);
        assert_eq!(
            Lang::detect("", "auth-service/Dockerfile"),
            Lang::Dockerfile
        );
        assert_eq!(Lang::detect("", "nginx.conf"), Lang::Nginx);
        assert_eq!(Lang::detect("typescript", "a.ts"), Lang::Js);
        assert_eq!(Lang::detect("", "src/App.jsx"), Lang::Js);
        assert_eq!(Lang::detect("", "README.md"), Lang::Plain);
    }

    #[test]
    fn html_is_always_escaped() {
        let code =
            "const s = \"<script>alert('x')</script>\"; // <b>&</b>\n<img src=x onerror=alert(1)>";
        let html = to_html(code, Lang::Js);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("&amp;"));
        let plain = to_html("<script>x</script>", Lang::Plain);
        assert_eq!(plain, "&lt;script&gt;x&lt;/script&gt;");
    }

    #[test]
    fn lines_split_multiline_tokens() {
        let code = "/* a\nb */ SELECT 1;\nSELECT 2;\n";
        let ls = lines(code, Lang::Sql);
        assert_eq!(ls.len(), 3, "{ls:?}");
        assert_eq!(ls[0], vec![(Tok::Comment, "/* a".to_string())]);
        assert_eq!(ls[1][0], (Tok::Comment, "b */".to_string()));
        let rebuilt: Vec<String> = ls
            .iter()
            .map(|l| l.iter().map(|(_, s)| s.as_str()).collect::<String>())
            .collect();
        assert_eq!(rebuilt.join("\n") + "\n", code);
    }
}

//! Typed attribute values of a `.4DLink` and their text forms.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::ServerPath;

/// How a value is read from, and written to, an attribute.
pub(super) trait AttrValue: Sized {
    /// What a valid value looks like, for error messages.
    const EXPECTED: &'static str;
    /// Parses the (already unescaped) attribute text.
    fn parse_attr(text: &str) -> Option<Self>;
    /// Why `text` is not a valid value.
    fn reason(_text: &str) -> String {
        format!("expected {}", Self::EXPECTED)
    }
    /// The attribute text (unescaped).
    fn to_attr(&self) -> Cow<'_, str>;
}

impl AttrValue for String {
    const EXPECTED: &'static str = "text";
    fn parse_attr(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn to_attr(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl AttrValue for bool {
    const EXPECTED: &'static str = "\"true\" or \"false\"";
    fn parse_attr(text: &str) -> Option<Self> {
        match text {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
    fn to_attr(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "true" } else { "false" })
    }
}

impl AttrValue for u64 {
    const EXPECTED: &'static str = "a decimal number";
    fn parse_attr(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }
    fn to_attr(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl AttrValue for ServerPath {
    const EXPECTED: &'static str = "host[:port], [IPv6]:port or :port";
    fn parse_attr(text: &str) -> Option<Self> {
        ServerPath::parse(text).ok()
    }
    fn reason(text: &str) -> String {
        match ServerPath::parse(text) {
            Err(e) => format!("{e}; expected {}", Self::EXPECTED),
            Ok(_) => format!("expected {}", Self::EXPECTED),
        }
    }
    fn to_attr(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

macro_rules! numbered_enum {
    ($(#[$doc:meta])* $name:ident, $expected:literal { $($(#[$vdoc:meta])* $variant:ident = $num:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),*
        }

        impl $name {
            /// The number 4D writes for this value.
            pub fn number(self) -> u8 {
                match self { $(Self::$variant => $num),* }
            }
        }

        impl AttrValue for $name {
            const EXPECTED: &'static str = $expected;
            fn parse_attr(text: &str) -> Option<Self> {
                match text { $(stringify!($num) => Some(Self::$variant),)* _ => None }
            }
            fn to_attr(&self) -> Cow<'_, str> {
                Cow::Borrowed(match self { $(Self::$variant => stringify!($num)),* })
            }
        }
    };
}

numbered_enum!(
    /// `structure_opening_mode`: how the structure is opened.
    StructureOpeningMode, "0 (normal), 1 (interpreted) or 2 (compiled)" {
        /// `0`: normal, same as last time.
        Normal = 0,
        /// `1`: interpreted.
        Interpreted = 1,
        /// `2`: compiled.
        Compiled = 2,
    }
);

numbered_enum!(
    /// `data_opening_mode` of a local link: which data file is opened.
    DataOpeningMode, "1 (last data file), 2 (select a data file) or 3 (create a data file)" {
        /// `1`: the last used (or default) data file.
        LastUsed = 1,
        /// `2`: let the user select a data file.
        Select = 2,
        /// `3`: create a data file.
        Create = 3,
    }
);

numbered_enum!(
    /// `data_conversion_mode` / `structure_conversion_mode` of a local link.
    ConversionMode, "0 (ask), 1 (do not convert) or 2 (convert silently)" {
        /// `0`: ask with a dialog.
        Ask = 0,
        /// `1`: do not convert.
        DoNotConvert = 1,
        /// `2`: convert without asking.
        ConvertSilently = 2,
    }
);

//! The registry macro: one line per format declares its module, re-exports its parser type and
//! adds its [`Format`](crate::Format) variant, so that adding a format touches its own files
//! and that line only. Every other list of formats is [`Format::ALL`](crate::Format::ALL), and
//! the one match on `Format` (in [`Format::parser`](crate::Format::parser)) is generated here,
//! so no format can be left out of it.

macro_rules! registry {
    ($($variant:ident => $module:ident :: $parser:ident),+ $(,)?) => {
        $(mod $module;)+
        $(pub use $module::$parser;)+

        /// The AWS service log types agsl knows, named by the seed project's service keywords.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Format {
            $($variant,)+
        }

        impl Format {
            /// Every format, in registry order.
            pub const ALL: [Format; [$(stringify!($variant)),+].len()] = [$(Format::$variant),+];

            /// The format's parser and description (one shared instance per format).
            pub fn parser(self) -> &'static dyn LogFormat {
                match self {
                    $(Format::$variant => {
                        static PARSER: LazyLock<$module::$parser> = LazyLock::new(Default::default);
                        &*PARSER
                    })+
                }
            }
        }
    };
}

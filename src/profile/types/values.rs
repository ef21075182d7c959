//! The profile's value types that parse themselves: `[rlimits]` (a number, `"unlimited"` or a
//! `{ soft, hard }` pair per `RLIMIT_*` resource) and sizes (`"64M"`, `"1.5GiB"`, bytes).

use super::*;

table! {
    /// `[rlimits]`: each key is a `RLIMIT_*` resource in lower case.
    pub struct Rlimits {
        #[serde(rename = "as")]
        pub as_: Option<L<Rlimit>>,
        pub core: Option<L<Rlimit>>,
        pub cpu: Option<L<Rlimit>>,
        pub data: Option<L<Rlimit>>,
        pub fsize: Option<L<Rlimit>>,
        pub locks: Option<L<Rlimit>>,
        pub memlock: Option<L<Rlimit>>,
        pub msgqueue: Option<L<Rlimit>>,
        pub nice: Option<L<Rlimit>>,
        pub nofile: Option<L<Rlimit>>,
        pub nproc: Option<L<Rlimit>>,
        pub rss: Option<L<Rlimit>>,
        pub rtprio: Option<L<Rlimit>>,
        pub rttime: Option<L<Rlimit>>,
        pub sigpending: Option<L<Rlimit>>,
        pub stack: Option<L<Rlimit>>,
    }
}

/// A `RLIMIT_*` resource, named as in `[rlimits]` (lower case, without `RLIMIT_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RlimitResource {
    #[serde(rename = "as")]
    As,
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
}

impl RlimitResource {
    /// Every resource, in the order `[rlimits]` documents them.
    pub const ALL: [RlimitResource; 16] = [
        RlimitResource::As,
        RlimitResource::Core,
        RlimitResource::Cpu,
        RlimitResource::Data,
        RlimitResource::Fsize,
        RlimitResource::Locks,
        RlimitResource::Memlock,
        RlimitResource::Msgqueue,
        RlimitResource::Nice,
        RlimitResource::Nofile,
        RlimitResource::Nproc,
        RlimitResource::Rss,
        RlimitResource::Rtprio,
        RlimitResource::Rttime,
        RlimitResource::Sigpending,
        RlimitResource::Stack,
    ];

    /// The kernel's name, as `jail explain` and error messages print it: `RLIMIT_NOFILE`.
    pub fn constant(self) -> String {
        format!("RLIMIT_{}", self.name().to_uppercase())
    }

    /// The `[rlimits]` key.
    pub fn name(self) -> &'static str {
        match self {
            RlimitResource::As => "as",
            RlimitResource::Core => "core",
            RlimitResource::Cpu => "cpu",
            RlimitResource::Data => "data",
            RlimitResource::Fsize => "fsize",
            RlimitResource::Locks => "locks",
            RlimitResource::Memlock => "memlock",
            RlimitResource::Msgqueue => "msgqueue",
            RlimitResource::Nice => "nice",
            RlimitResource::Nofile => "nofile",
            RlimitResource::Nproc => "nproc",
            RlimitResource::Rss => "rss",
            RlimitResource::Rtprio => "rtprio",
            RlimitResource::Rttime => "rttime",
            RlimitResource::Sigpending => "sigpending",
            RlimitResource::Stack => "stack",
        }
    }

    /// The kernel's resource number.
    pub fn kernel(self) -> nix::sys::resource::Resource {
        use nix::sys::resource::Resource as R;
        match self {
            RlimitResource::As => R::RLIMIT_AS,
            RlimitResource::Core => R::RLIMIT_CORE,
            RlimitResource::Cpu => R::RLIMIT_CPU,
            RlimitResource::Data => R::RLIMIT_DATA,
            RlimitResource::Fsize => R::RLIMIT_FSIZE,
            RlimitResource::Locks => R::RLIMIT_LOCKS,
            RlimitResource::Memlock => R::RLIMIT_MEMLOCK,
            RlimitResource::Msgqueue => R::RLIMIT_MSGQUEUE,
            RlimitResource::Nice => R::RLIMIT_NICE,
            RlimitResource::Nofile => R::RLIMIT_NOFILE,
            RlimitResource::Nproc => R::RLIMIT_NPROC,
            RlimitResource::Rss => R::RLIMIT_RSS,
            RlimitResource::Rtprio => R::RLIMIT_RTPRIO,
            RlimitResource::Rttime => R::RLIMIT_RTTIME,
            RlimitResource::Sigpending => R::RLIMIT_SIGPENDING,
            RlimitResource::Stack => R::RLIMIT_STACK,
        }
    }
}

impl fmt::Display for RlimitResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Rlimits {
    /// `(resource, value)` of every set key, in a fixed order.
    pub fn entries(&self) -> Vec<(RlimitResource, &L<Rlimit>)> {
        use RlimitResource as R;
        let all: [(RlimitResource, &Option<L<Rlimit>>); 16] = [
            (R::As, &self.as_),
            (R::Core, &self.core),
            (R::Cpu, &self.cpu),
            (R::Data, &self.data),
            (R::Fsize, &self.fsize),
            (R::Locks, &self.locks),
            (R::Memlock, &self.memlock),
            (R::Msgqueue, &self.msgqueue),
            (R::Nice, &self.nice),
            (R::Nofile, &self.nofile),
            (R::Nproc, &self.nproc),
            (R::Rss, &self.rss),
            (R::Rtprio, &self.rtprio),
            (R::Rttime, &self.rttime),
            (R::Sigpending, &self.sigpending),
            (R::Stack, &self.stack),
        ];
        all.into_iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
            .collect()
    }
}

/// An rlimit: one number for both soft and hard, `[soft, hard]`, or `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

impl<'de> Deserialize<'de> for Rlimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        fn one<E: de::Error>(v: RlimitOne) -> Result<Option<u64>, E> {
            Ok(v.0)
        }
        impl<'de> Visitor<'de> for V {
            type Value = Rlimit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, \"unlimited\", or [soft, hard]")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Rlimit, E> {
                let v = one::<E>(RlimitOne::from_i64(n)?)?;
                Ok(Rlimit { soft: v, hard: v })
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Rlimit, E> {
                Ok(Rlimit {
                    soft: Some(n),
                    hard: Some(n),
                })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Rlimit, E> {
                let v = RlimitOne::from_str(s)?.0;
                Ok(Rlimit { soft: v, hard: v })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Rlimit, A::Error> {
                let soft: RlimitOne = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let hard: RlimitOne = a
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if a.next_element::<RlimitOne>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(Rlimit {
                    soft: soft.0,
                    hard: hard.0,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// One side of an rlimit; `None` is unlimited.
struct RlimitOne(Option<u64>);
impl RlimitOne {
    fn from_i64<E: de::Error>(n: i64) -> Result<Self, E> {
        u64::try_from(n)
            .map(|n| RlimitOne(Some(n)))
            .map_err(|_| E::custom(format!("a limit cannot be negative ({n})")))
    }
    fn from_str<E: de::Error>(s: &str) -> Result<Self, E> {
        match s {
            "unlimited" | "infinity" => Ok(RlimitOne(None)),
            _ => Err(E::custom(format!(
                "expected a number or \"unlimited\", found {s:?}"
            ))),
        }
    }
}
impl<'de> Deserialize<'de> for RlimitOne {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RlimitOne;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or \"unlimited\"")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RlimitOne, E> {
                RlimitOne::from_i64(n)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RlimitOne, E> {
                Ok(RlimitOne(Some(n)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RlimitOne, E> {
                RlimitOne::from_str(s)
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: a number, or a string with a binary unit (`K`/`KiB`, `M`/`MiB`, `G`/`GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size(pub u64);

impl Size {
    pub fn parse(s: &str) -> Result<Size, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        if num.is_empty() {
            return Err(format!(
                "invalid size {s:?}: expected a number of bytes or e.g. \"64MiB\", \"2G\""
            ));
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid size {s:?}: number too large"))?;
        let mul: u64 = match unit.trim() {
            "" | "B" => 1,
            "K" | "KiB" | "k" | "KB" => 1 << 10,
            "M" | "MiB" | "MB" => 1 << 20,
            "G" | "GiB" | "GB" => 1 << 30,
            "T" | "TiB" | "TB" => 1 << 40,
            u => {
                return Err(format!(
                    "invalid size {s:?}: unknown unit {u:?} (use K/KiB, M/MiB, G/GiB; all binary)"
                ))
            }
        };
        n.checked_mul(mul)
            .map(Size)
            .ok_or_else(|| format!("invalid size {s:?}: too large"))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: a number of bytes or a string like \"64MiB\"")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Size, E> {
                u64::try_from(n)
                    .map(Size)
                    .map_err(|_| E::custom(format!("a size cannot be negative ({n})")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Size, E> {
                Ok(Size(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Size, E> {
                Size::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

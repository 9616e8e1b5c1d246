//! Fargate task sizes: only the CPU/memory pairs Fargate accepts can be expressed or parsed.

use std::fmt;
use std::str::FromStr;

/// A Fargate task size (CPU units and memory in MiB) that Fargate accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskSize {
    cpu: u32,
    memory_mib: u32,
}

/// Why a CPU/memory pair (or its text) is not a Fargate task size: what was given and what is
/// allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{given} is not a Fargate task size; allowed: {allowed}")]
pub struct InvalidTaskSize {
    /// The value as given, e.g. `300 CPU units / 1024 MiB` or `"big"`.
    pub given: String,
    pub allowed: String,
}

/// Why a size is not a Fargate task's ephemeral storage.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{gib} GiB is not a Fargate ephemeral storage size; allowed: {EPHEMERAL_STORAGE_GIB}")]
pub struct InvalidEphemeralStorage {
    pub gib: u32,
}

/// The ephemeral storage sizes Fargate accepts, for messages.
const EPHEMERAL_STORAGE_GIB: &str = "21-200 GiB";

/// The CPU architecture a Fargate task runs on (its `RuntimePlatform`, Linux): the images must be
/// built for it (or be multi-architecture).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CpuArchitecture {
    /// x86-64 (`linux/amd64` images). The default: what `docker build` produces on the default
    /// GitHub-hosted runners and on most developer machines, so no emulation or cross-build is
    /// needed, and Fargate Spot takes it on every platform version.
    #[default]
    X86_64,
    /// 64-bit Arm, AWS Graviton (`linux/arm64` images): about 20 % cheaper per vCPU and GiB
    /// hour on Fargate. Needs arm64 (or multi-architecture) images; Fargate Spot needs platform
    /// version 1.4.0 (the current `LATEST`).
    Arm64,
}

impl CpuArchitecture {
    /// The name ECS and the settings use: `X86_64` / `ARM64`.
    pub fn name(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "X86_64",
            CpuArchitecture::Arm64 => "ARM64",
        }
    }

    /// The Docker platform of its images: `linux/amd64` / `linux/arm64`.
    pub fn docker_platform(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "linux/amd64",
            CpuArchitecture::Arm64 => "linux/arm64",
        }
    }

    /// The task definition's runtime platform: Linux on this architecture.
    pub fn runtime_platform(self) -> cdk_from_rust::aws_cdk_lib::aws_ecs::RuntimePlatform {
        use cdk_from_rust::aws_cdk_lib::aws_ecs::{
            CpuArchitecture as Cpu, OperatingSystemFamily, RuntimePlatform,
        };
        RuntimePlatform::new()
            .cpu_architecture(match self {
                CpuArchitecture::X86_64 => Cpu::x86_64(),
                CpuArchitecture::Arm64 => Cpu::arm64(),
            })
            .operating_system_family(OperatingSystemFamily::linux())
    }
}

impl FromStr for CpuArchitecture {
    type Err = String;
    /// `X86_64` or `ARM64` (any case; `amd64` and `arm64` too); `Err` says what is allowed.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "X86_64" | "AMD64" => Ok(CpuArchitecture::X86_64),
            "ARM64" | "AARCH64" => Ok(CpuArchitecture::Arm64),
            _ => Err("X86_64 or ARM64".to_string()),
        }
    }
}

/// (cpu, min memory, max memory, step), all in MiB.
const SIZES: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2048, 0),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// The allowed combinations, for messages.
pub const ALLOWED: &str = "256 CPU: 512, 1024 or 2048 MiB; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384 \
                           (1 GiB steps); 4096: 8192-30720 (1 GiB steps); 8192: 16384-61440 (4 GiB steps); \
                           16384: 32768-122880 (8 GiB steps)";

impl TaskSize {
    /// 0.25 vCPU, 0.5 GiB.
    pub const QUARTER_HALF: TaskSize = TaskSize {
        cpu: 256,
        memory_mib: 512,
    };
    /// 0.5 vCPU, 1 GiB.
    pub const HALF_1: TaskSize = TaskSize {
        cpu: 512,
        memory_mib: 1024,
    };
    /// 1 vCPU, 2 GiB.
    pub const ONE_2: TaskSize = TaskSize {
        cpu: 1024,
        memory_mib: 2048,
    };

    /// A task size, when Fargate accepts the pair.
    pub fn new(cpu: u32, memory_mib: u32) -> Result<TaskSize, InvalidTaskSize> {
        let ok = SIZES.iter().any(|&(c, min, max, step)| {
            c == cpu
                && memory_mib >= min
                && memory_mib <= max
                && if step == 0 {
                    [512, 1024, 2048].contains(&memory_mib)
                } else {
                    (memory_mib - min).is_multiple_of(step)
                }
        });
        if ok {
            Ok(TaskSize { cpu, memory_mib })
        } else {
            Err(InvalidTaskSize {
                given: format!("{cpu} CPU units / {memory_mib} MiB"),
                allowed: ALLOWED.to_string(),
            })
        }
    }

    /// CPU units (1024 = 1 vCPU).
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Memory in MiB.
    pub fn memory_mib(&self) -> u32 {
        self.memory_mib
    }
}

impl fmt::Display for TaskSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.cpu, self.memory_mib)
    }
}

impl FromStr for TaskSize {
    type Err = InvalidTaskSize;

    /// Parses `CPU/MEMORY` in CPU units and MiB (`512/1024`), or in vCPU and GiB (`0.5vcpu/1gb`).
    fn from_str(s: &str) -> Result<TaskSize, InvalidTaskSize> {
        let bad = || InvalidTaskSize {
            given: format!("{s:?}"),
            allowed: format!(
                "`CPU/MEMORY` in CPU units and MiB or in vCPU and GiB, e.g. 512/1024 or \
                 0.5vcpu/1gb; {ALLOWED}"
            ),
        };
        let (c, m) = s.trim().split_once('/').ok_or_else(bad)?;
        let c = c.trim().to_ascii_lowercase();
        let m = m.trim().to_ascii_lowercase();
        let cpu = match c.strip_suffix("vcpu") {
            Some(v) => (v.trim().parse::<f64>().map_err(|_| bad())? * 1024.0).round() as u32,
            None => c.parse().map_err(|_| bad())?,
        };
        let memory = match m.strip_suffix("gb").or_else(|| m.strip_suffix("gib")) {
            Some(v) => (v.trim().parse::<f64>().map_err(|_| bad())? * 1024.0).round() as u32,
            None => m.parse().map_err(|_| bad())?,
        };
        TaskSize::new(cpu, memory).map_err(|e| InvalidTaskSize {
            given: format!("{s:?} ({})", e.given),
            ..e
        })
    }
}

/// Ephemeral storage of a Fargate task: 21-200 GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EphemeralStorage(u32);

impl EphemeralStorage {
    /// Ephemeral storage in GiB, when within 21-200.
    pub fn gib(gib: u32) -> Result<EphemeralStorage, InvalidEphemeralStorage> {
        if (21..=200).contains(&gib) {
            Ok(EphemeralStorage(gib))
        } else {
            Err(InvalidEphemeralStorage { gib })
        }
    }

    pub fn as_gib(&self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_the_fargate_table() {
        for (c, m) in [
            (256, 512),
            (256, 2048),
            (512, 4096),
            (1024, 8192),
            (2048, 5120),
            (4096, 30720),
            (8192, 20480),
            (16384, 122880),
        ] {
            assert!(TaskSize::new(c, m).is_ok(), "{c}/{m}");
        }
        for (c, m) in [
            (256, 1536),
            (256, 4096),
            (512, 512),
            (1024, 9216),
            (2048, 4608),
            (8192, 18432),
            (16384, 36864),
            (300, 1024),
        ] {
            let e = TaskSize::new(c, m).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "{c} CPU units / {m} MiB is not a Fargate task size; allowed: 256 CPU: 512, \
                     1024 or 2048 MiB; 512: 1024-4096;"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn parses_units_and_vcpu_notation() {
        assert_eq!("512/1024".parse::<TaskSize>().unwrap(), TaskSize::HALF_1);
        assert_eq!(
            "0.25vcpu/0.5gb".parse::<TaskSize>().unwrap(),
            TaskSize::QUARTER_HALF
        );
        assert_eq!(
            " 1 vCPU / 2 GiB ".parse::<TaskSize>().unwrap(),
            TaskSize::ONE_2
        );
    }

    #[test]
    fn fails_to_parse_text_that_is_not_cpu_slash_memory() {
        for text in ["big", "512", "half/1gb", "0.5vcpu/lots", ""] {
            let e = text.parse::<TaskSize>().unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "{text:?} is not a Fargate task size; allowed: `CPU/MEMORY` in CPU units and \
                     MiB or in vCPU and GiB, e.g. 512/1024 or 0.5vcpu/1gb; 256 CPU: 512, 1024 or \
                     2048 MiB;"
                )),
                "{e}"
            );
        }
    }

    #[test]
    fn fails_to_parse_a_pair_fargate_does_not_accept() {
        let e = "1/2".parse::<TaskSize>().unwrap_err().to_string();
        assert!(
            e.starts_with(
                "\"1/2\" (1 CPU units / 2 MiB) is not a Fargate task size; allowed: 256 CPU: \
                 512, 1024 or 2048 MiB;"
            ),
            "{e}"
        );
        let e = "0.5vcpu/0.5gb".parse::<TaskSize>().unwrap_err().to_string();
        assert!(
            e.starts_with("\"0.5vcpu/0.5gb\" (512 CPU units / 512 MiB) is not a Fargate task size"),
            "{e}"
        );
    }

    #[test]
    fn ephemeral_storage_range() {
        assert!(EphemeralStorage::gib(21).is_ok() && EphemeralStorage::gib(200).is_ok());
        for gib in [20, 201] {
            assert_eq!(
                EphemeralStorage::gib(gib).unwrap_err().to_string(),
                format!("{gib} GiB is not a Fargate ephemeral storage size; allowed: 21-200 GiB")
            );
        }
    }
}

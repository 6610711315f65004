//! A tiny classic-BPF assembler: the few instructions a seccomp filter needs, symbolic
//! jump targets, and long-jump trampolines where a conditional jump would exceed the 255
//! instructions its 8-bit offset can reach. Plus an interpreter, so the unit tests can run
//! generated programs against any `seccomp_data` (including other ABIs than the host's).

/// One `struct sock_filter` (defined by the syscall layer, which loads it).
pub use hull_sys::SockFilter;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const ALU_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// The conditional jumps (`BPF_JMP | op | BPF_K`): A compared with K, unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// A == K
    Eq = 0x15,
    /// A > K
    Gt = 0x25,
    /// A >= K
    Ge = 0x35,
    /// A & K != 0
    Set = 0x45,
}

/// A place in the program, fixed with [`Asm::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// Where a conditional jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// The next instruction.
    Next,
    /// A label (always forward: classic BPF cannot jump back).
    L(Label),
}

#[derive(Debug, Clone)]
enum Item {
    Ld(u32),
    And(u32),
    Jmp { cmp: Cmp, k: u32, t: To, f: To },
    Ja(Label),
    Ret(u32),
    Mark(Label),
}

/// A program under construction.
#[derive(Debug, Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: usize,
}

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

impl Asm {
    /// A fresh, unplaced label.
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    /// Places `l` before the next instruction.
    pub fn mark(&mut self, l: Label) {
        self.items.push(Item::Mark(l));
    }
    /// A = the 32-bit word at `off` in `seccomp_data`.
    pub fn ld(&mut self, off: u32) {
        self.items.push(Item::Ld(off));
    }
    /// A &= k
    pub fn and(&mut self, k: u32) {
        self.items.push(Item::And(k));
    }
    /// if (A cmp k) goto t else goto f
    pub fn jmp(&mut self, cmp: Cmp, k: u32, t: To, f: To) {
        self.items.push(Item::Jmp { cmp, k, t, f });
    }
    /// goto l
    pub fn ja(&mut self, l: Label) {
        self.items.push(Item::Ja(l));
    }
    /// return v
    pub fn ret(&mut self, v: u32) {
        self.items.push(Item::Ret(v));
    }

    /// Resolves labels into offsets, adding `ja` trampolines for conditional jumps that
    /// are too long. Fails if a jump goes backwards or the program is too long to load.
    pub fn assemble(mut self) -> Result<Vec<SockFilter>, String> {
        // Each round routes every jump that is too long through trampolines; inserting them
        // only lengthens other jumps, so a few rounds reach a fixed point.
        loop {
            let (pos, at) = self.layout();
            let mut far = Vec::new();
            for (i, it) in self.items.iter().enumerate() {
                if let Item::Jmp { t, f, .. } = it {
                    let off = |to: &To| match to {
                        To::Next => Ok(0),
                        To::L(l) => dist(&at, pos[i], *l),
                    };
                    if off(t)? > 255 || off(f)? > 255 {
                        far.push(i);
                    }
                }
            }
            if far.is_empty() {
                break;
            }
            // From the back, so earlier indices stay valid.
            for &i in far.iter().rev() {
                self.trampoline(i, &pos, &at)?;
            }
        }
        let (pos, at) = self.layout();
        let mut out = Vec::with_capacity(pos.last().copied().unwrap_or(0));
        for (i, it) in self.items.iter().enumerate() {
            let off = |to: &To| -> Result<u8, String> {
                match to {
                    To::Next => Ok(0),
                    To::L(l) => Ok(dist(&at, pos[i], *l)? as u8),
                }
            };
            let ins = match it {
                Item::Mark(_) => continue,
                Item::Ld(k) => op(LD_W_ABS, *k),
                Item::And(k) => op(ALU_AND_K, *k),
                Item::Ret(k) => op(RET_K, *k),
                Item::Ja(l) => op(JMP_JA, dist(&at, pos[i], *l)? as u32),
                Item::Jmp { cmp, k, t, f } => SockFilter {
                    code: *cmp as u16,
                    jt: off(t)?,
                    jf: off(f)?,
                    k: *k,
                },
            };
            out.push(ins);
        }
        if out.len() > MAX_INSNS {
            return Err(format!(
                "the filter needs {} BPF instructions, more than the kernel's limit of {MAX_INSNS}",
                out.len()
            ));
        }
        Ok(out)
    }

    /// Instruction index of every item, and of every label.
    fn layout(&self) -> (Vec<usize>, Vec<Option<usize>>) {
        let mut pos = Vec::with_capacity(self.items.len());
        let mut at = vec![None; self.labels];
        let mut pc = 0;
        for it in &self.items {
            pos.push(pc);
            match it {
                Item::Mark(l) => at[l.0] = Some(pc),
                _ => pc += 1,
            }
        }
        (pos, at)
    }

    /// Routes the far targets of the jump at `i` through `ja` instructions placed right
    /// after it. A `Next` target becomes a label on the original next instruction, since
    /// the trampolines now sit in between.
    fn trampoline(&mut self, i: usize, pos: &[usize], at: &[Option<usize>]) -> Result<(), String> {
        let Item::Jmp { cmp, k, t, f } = self.items[i].clone() else {
            return Ok(());
        };
        let far = |to: &To| -> Result<bool, String> {
            Ok(matches!(to, To::L(l) if dist(at, pos[i], *l)? > 255))
        };
        let (tf, ff) = (far(&t)?, far(&f)?);
        let next = self.label();
        let mut extra = Vec::new();
        let mut route = |to: To, is_far: bool, asm: &mut Asm| match (to, is_far) {
            (To::L(l), true) => {
                let tl = asm.label();
                extra.push(Item::Mark(tl));
                extra.push(Item::Ja(l));
                To::L(tl)
            }
            (To::Next, _) => To::L(next),
            (other, false) => other,
        };
        let t2 = route(t, tf, self);
        let f2 = route(f, ff, self);
        extra.push(Item::Mark(next));
        self.items[i] = Item::Jmp {
            cmp,
            k,
            t: t2,
            f: f2,
        };
        self.items.splice(i + 1..i + 1, extra);
        Ok(())
    }
}

fn op(code: u16, k: u32) -> SockFilter {
    SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// The forward offset from the instruction at `from` to label `l`.
fn dist(at: &[Option<usize>], from: usize, l: Label) -> Result<usize, String> {
    let to = at
        .get(l.0)
        .copied()
        .flatten()
        .ok_or_else(|| format!("BPF label {} never placed", l.0))?;
    to.checked_sub(from + 1)
        .ok_or_else(|| format!("BPF jump backwards from {from} to {to}"))
}

/// The `struct seccomp_data` a filter sees: syscall number, `AUDIT_ARCH_*`, instruction
/// pointer, six arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    fn word(&self, off: u32) -> Option<u32> {
        Some(match off {
            0 => self.nr as u32,
            4 => self.arch,
            8 => self.ip as u32,
            12 => (self.ip >> 32) as u32,
            16..=63 if off % 4 == 0 => {
                let a = self.args[(off as usize - 16) / 8];
                if off % 8 == 0 {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => return None,
        })
    }
}

/// Runs a program the way the kernel does (for tests): returns the filter's verdict, or an
/// error for an instruction the kernel would reject.
pub fn run(prog: &[SockFilter], d: &SeccompData) -> Result<u32, String> {
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let ins = prog
            .get(pc)
            .ok_or_else(|| format!("fell off the end at {pc}"))?;
        pc += 1;
        match ins.code {
            LD_W_ABS => a = d.word(ins.k).ok_or_else(|| format!("bad load {}", ins.k))?,
            ALU_AND_K => a &= ins.k,
            RET_K => return Ok(ins.k),
            JMP_JA => pc += ins.k as usize,
            c => {
                let hit = match c {
                    x if x == Cmp::Eq as u16 => a == ins.k,
                    x if x == Cmp::Gt as u16 => a > ins.k,
                    x if x == Cmp::Ge as u16 => a >= ins.k,
                    x if x == Cmp::Set as u16 => a & ins.k != 0,
                    _ => return Err(format!("unknown opcode {c:#x} at {}", pc - 1)),
                };
                pc += if hit { ins.jt } else { ins.jf } as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_jumps_get_trampolines() {
        let mut a = Asm::default();
        let far = a.label();
        a.ld(0);
        a.jmp(Cmp::Eq, 7, To::L(far), To::Next);
        for i in 0..600 {
            a.jmp(Cmp::Eq, 1000 + i, To::Next, To::Next);
        }
        a.ret(1);
        a.mark(far);
        a.ret(2);
        let p = a.assemble().expect("assembles");
        assert!(p.len() > 603, "a trampoline was added");
        let d = |nr| SeccompData {
            nr,
            ..Default::default()
        };
        assert_eq!(run(&p, &d(7)), Ok(2));
        assert_eq!(run(&p, &d(8)), Ok(1));
    }

    #[test]
    fn backward_and_unplaced_labels_are_errors() {
        let mut a = Asm::default();
        let l = a.label();
        a.ja(l);
        assert!(a.assemble().is_err());
        let mut a = Asm::default();
        let l = a.label();
        a.mark(l);
        a.ret(0);
        a.ja(l);
        assert!(a.assemble().is_err());
    }
}

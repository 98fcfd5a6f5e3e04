"""What one password hash costs (argon2id), and the floor below which the server refuses to go.

Pure and dependency-free, so that the configuration can check it without importing argon2.
The floor is OWASP's Password Storage Cheat Sheet (argon2id): any one of its rows, each
about as much work as the others (memory times passes), with one lane.
"""

from __future__ import annotations

from dataclasses import dataclass

# OWASP's minimum configurations for argon2id: (memory in KiB, passes), any one of them.
OWASP_FLOOR: tuple[tuple[int, int], ...] = (
    (47_104, 1),  # 46 MiB, 1 pass
    (19_456, 2),  # 19 MiB, 2 passes
    (12_288, 3),  # 12 MiB, 3 passes
    (9_216, 4),  # 9 MiB, 4 passes
    (7_168, 5),  # 7 MiB, 5 passes
)
MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB: more is a typo, and would be taken per login
MAX_TIME_COST = 100
MAX_PARALLELISM = 64


@dataclass(frozen=True, slots=True)
class HashCost:
    """argon2id parameters. The default is OWASP's 19 MiB, 2 passes, 1 lane: about 25 ms of
    one core, so 200 logins at once are judged within 15 s on 2 cores (docs/OPERATING.md,
    "chat-server"), where argon2-cffi's default (64 MiB, 3 passes, 4 lanes) took 44 s."""

    memory_kib: int = 19_456
    time_cost: int = 2  # passes over the memory
    parallelism: int = 1  # lanes

    def problem(self) -> str | None:
        """Why the server must not hash with these parameters, or None when it may."""
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            return f"argon2 parallelism must be between 1 and {MAX_PARALLELISM}"
        if self.time_cost > MAX_TIME_COST or self.memory_kib > MAX_MEMORY_KIB:
            return (f"argon2 cost is at most {MAX_TIME_COST} passes and "
                    f"{MAX_MEMORY_KIB} KiB of memory")  # fmt: skip
        if not any(self.meets(memory, passes) for memory, passes in OWASP_FLOOR):
            rows = ", ".join(f"{memory} KiB x {passes}" for memory, passes in OWASP_FLOOR)
            return (
                f"argon2 memory {self.memory_kib} KiB with {self.time_cost} passes is below "
                f"OWASP's minimum for argon2id (at least one of: {rows})"
            )
        return None

    def meets(self, memory_kib: int, time_cost: int) -> bool:
        return self.memory_kib >= memory_kib and self.time_cost >= time_cost


DEFAULT_COST = HashCost()  # chat-server's default, and chat-admin's

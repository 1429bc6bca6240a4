"""How a simulated subject learns: a profile is a learning rate, a motivation and an optional decline.

Both simulated tasks share one latent variable, ``skill`` in [0, 1) (0 = naive, near 1 = expert), and
map it onto their own observable parameters (psychometric threshold and lapses for the choice task,
d-prime and lick criterion for change detection). A session moves skill towards 1 by
``learning_rate * practice * (1 - skill)``, where practice grows with the trials actually performed,
so a subject that does few trials learns little: the task parameters a curriculum sets (reward volume,
session length) change how fast it learns. After ``degrade_after`` sessions a degrading subject loses
``degrade_rate`` of its skill and of its motivation per session.
"""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class SubjectProfile:
    """The learning traits of a simulated subject (see the module docstring)."""

    name: str
    learning_rate: float
    """Fraction of the remaining way to expert covered by one session of full practice (0 = never learns)."""
    motivation: float = 1.0
    """Scales how many trials the subject is willing to do in a session."""
    degrade_after: int | None = None
    """Session index from which skill and motivation decline (None: never)."""
    degrade_rate: float = 0.0
    """Fraction of skill (and of motivation) lost per session once declining."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.learning_rate <= 1.0:
            raise ValueError(f"profile {self.name!r}: learning_rate must be in [0, 1], got {self.learning_rate}")
        if self.motivation <= 0:
            raise ValueError(f"profile {self.name!r}: motivation must be positive, got {self.motivation}")
        if not 0.0 <= self.degrade_rate < 1.0:
            raise ValueError(f"profile {self.name!r}: degrade_rate must be in [0, 1), got {self.degrade_rate}")

    def scaled(self, rate: float) -> "SubjectProfile":
        """The same profile learning ``rate`` times faster (a configurable learning rate)."""
        return replace(self, learning_rate=min(1.0, self.learning_rate * rate))


FAST_LEARNER = SubjectProfile("fast_learner", learning_rate=0.32)
SLOW_LEARNER = SubjectProfile("slow_learner", learning_rate=0.12)
NON_LEARNER = SubjectProfile("non_learner", learning_rate=0.0)
LEARNS_THEN_DEGRADES = SubjectProfile("learns_then_degrades", learning_rate=0.32, degrade_after=12, degrade_rate=0.2)

PROFILES: dict[str, SubjectProfile] = {
    profile.name: profile for profile in (FAST_LEARNER, SLOW_LEARNER, NON_LEARNER, LEARNS_THEN_DEGRADES)
}


def get_profile(profile: str | SubjectProfile) -> SubjectProfile:
    """A profile by name (``fast_learner``, ``slow_learner``, ``non_learner``, ``learns_then_degrades``)."""
    if isinstance(profile, SubjectProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown subject profile {profile!r} (known: {', '.join(PROFILES)})") from None

"""How the CNN fusion decides and refines: :class:`FusionSettings`, the one way to set it up.

A :class:`~brainfuse.fusion.Fuser` is built with one ``FusionSettings`` (frozen, so a
fuser's behaviour cannot change after creation); the defaults are the shipped method of
``models/MODEL_CARD.md``. Research variants (other refinements, raw-pixel activity) live in
``scripts/ablation.py``, which builds its own settings and maps from the functions of
:mod:`brainfuse.fusion.decision`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from brainfuse.errors import BrainFuseError

__all__ = [
    "PRECISIONS",
    "REFINEMENTS",
    "RULES",
    "AnatomyRule",
    "DetailBlend",
    "FusionSettings",
    "encoder_factor",
]

#: Ways to turn the hard map into the soft map actually used.
REFINEMENTS = ("detail", "none")
#: Arithmetic of the encoder (``FusionSettings.precision``), the default first.
PRECISIONS = ("auto", "float32", "bfloat16")
#: Fusion rules of the ``cnn`` method (see :class:`FusionSettings`), the default first.
RULES = ("anatomy", "sesf")


@dataclass(frozen=True)
class DetailBlend:
    """Parameters of :func:`brainfuse.fusion.decision.detail_blend` (see there).

    Attributes
    ----------
    beta : float
        Blend strength; the weight moves at most ``beta / 2`` towards 0.5.
    c : float
        Weight of the edge energy against the squared level difference (256 x 256 slice).
    kappa : float
        Floor of the level term.
    sigma : float
        Gaussian sigma of the local means, pixels at 256 x 256 (scaled with the slice).
    """

    beta: float = 0.6
    c: float = 150.0
    kappa: float = 0.5
    sigma: float = 4.0


@dataclass(frozen=True)
class AnatomyRule:
    """Parameters of the ``anatomy`` rule (:func:`brainfuse.fusion.anatomy.anatomy_maps`).

    Attributes
    ----------
    close_radius : float
        Disk radius (pixels at 256 x 256, scaled) of the closing that seals small gaps in
        the skull before its inside is filled.
    tolerance : float
        Grey levels (of 255): the soft map's blending never moves a bone pixel further than
        this from the CT, nor an intracranial pixel further than this from the MRI.
    ring_coverage : float
        A skull with gaps wider than the closing still bounds the intracranial area (its
        convex hull within the head) when its bone is met in this fraction of the
        directions from the hull's centre; above 1 turns this off.
    inner_table : float
        Width in pixels of the slice (not scaled: the CT's partial-volume blur spans a pixel
        or two whatever their size) of the intracranial area's rim along the bone that is
        taken from the CT: the inner table's partial-volume edge, below the bone threshold
        but still the CT's bone profile. 0 gives the whole area to the MRI.
    edge_ratio : float
        Outside the bone and the intracranial area, an image whose own local edge strength
        (Sobel magnitude, mean over ``2 * edge_radius + 1`` pixels) is at least this many
        times the other's is taken; elsewhere the deep-feature map decides. 0 turns this
        off (the deep-feature map decides all of it).
    edge_radius : float
        Radius (pixels at 256 x 256, scaled) of the local mean of the edge strength.
    encoder_stages : int
        How many of the encoder's four stages (16 feature maps each) give the deep activity
        this rule compares where the anatomy and the edges leave the choice open: 2 (the
        first 32 of the 64 maps, about a sixth of the encoder's arithmetic). The rule
        overrides the deep map on the bone, the intracranial area and the clear edges, and
        where it does not the first two stages decide as the four do: chosen on the tuning
        half of the development cases as the fewest stages with every metric within 0.5 %
        of all four (``models/MODEL_CARD.md``). 4 reads all 64, as the ``sesf`` rule does.
    """

    close_radius: float = 3.0
    tolerance: float = 20.0
    ring_coverage: float = 0.75
    inner_table: float = 2.0
    edge_ratio: float = 2.0
    edge_radius: float = 1.0
    encoder_stages: int = 2


@dataclass(frozen=True)
class FusionSettings:
    """Settings of the CNN fusion (``method="cnn"``); the baselines ignore them.

    Attributes
    ----------
    rule : {"anatomy", "sesf"}
        ``anatomy`` (default): the CT's bone (and the inner table's rim) from the CT, the
        intracranial area from the MRI, elsewhere the image whose own edges clearly dominate
        and the deep-feature map where neither does; needs a bone prior (a CT), else
        ``sesf`` runs.
        ``sesf``: the paper's rule, the deep-feature map everywhere.
    window : int
        Side ``k`` of the box window (pixels) over which the spatial frequency of the deep
        features is summed (SESF-Fuse eq. 7); 6 by default (chosen on half of the
        development cases, ``models/MODEL_CARD.md``).
    consistency : bool
        Consistency verification of the hard map (opening/closing, small-region removal).
    cv_radius : float
        Disk radius of the verification, pixels for a 256 x 256 slice (scaled).
    min_area : float
        Islands and holes below this fraction of the slice area are removed.
    refine : {"detail", "none"}
        ``detail``: the soft map of :func:`~brainfuse.fusion.decision.detail_blend`;
        ``none``: the hard map is used as it is.
    detail : DetailBlend
        Parameters of the detail blend.
    anatomy : AnatomyRule
        Parameters of the ``anatomy`` rule.
    background : float
        Grey level (of 255) below which a pixel dark in both sources is background: it is
        never "image 1" in the map (both rules).
    precision : {"auto", "float32", "bfloat16"}
        Arithmetic of the encoder's dense convolutions (:class:`~brainfuse.fusion.inference.
        EnergyEncoder`): ``auto`` uses bfloat16 products (float32 sums) on a CPU that
        multiplies bfloat16 natively and float32 elsewhere (a GPU included); the device
        line says which ran.
    encoder_size : int
        Slices are encoded at about this size in pixels (the 256 x 256 atlas slices the
        encoder was trained on, about 1 mm per pixel): a larger slice is block-averaged by
        the whole factor ``round(min(H, W) / encoder_size)`` before the encoder and its
        activity brought back bilinearly, so a 512 x 512 CT costs what a 256 x 256 one does
        in the encoder (the decision map stays at full resolution). 0 encodes every slice
        at its own size.

    Raises
    ------
    BrainFuseError
        A value is out of range or a refinement is unknown.
    """

    rule: str = "anatomy"
    window: int = 6
    consistency: bool = True
    cv_radius: float = 5.0
    min_area: float = 0.01
    refine: str = "detail"
    detail: DetailBlend = field(default_factory=DetailBlend)
    anatomy: AnatomyRule = field(default_factory=AnatomyRule)
    background: float = 8.0
    precision: str = "auto"
    encoder_size: int = 256

    def __post_init__(self) -> None:
        """Check the window, refinement and clean-up values."""
        if int(self.window) != self.window or self.window < 1:
            raise BrainFuseError(f"fusion window must be a whole number >= 1, not {self.window}")
        if self.rule not in RULES:
            raise BrainFuseError(
                f"unknown fusion rule '{self.rule}': choose one of {', '.join(RULES)}"
            )
        rule = self.anatomy
        if rule.close_radius < 0 or not 0 <= rule.tolerance <= 255:
            raise BrainFuseError(
                f"anatomy rule needs close_radius >= 0 and 0 <= tolerance <= 255 "
                f"(got {rule.close_radius}, {rule.tolerance})"
            )
        if (
            rule.inner_table < 0
            or rule.edge_radius < 0
            or not (rule.edge_ratio == 0 or rule.edge_ratio >= 1)
        ):
            raise BrainFuseError(
                f"anatomy rule needs inner_table >= 0, edge_radius >= 0 and edge_ratio 0 "
                f"(off) or >= 1 (got {rule.inner_table}, {rule.edge_radius}, {rule.edge_ratio})"
            )
        if int(rule.encoder_stages) != rule.encoder_stages or rule.encoder_stages < 1:
            raise BrainFuseError(
                f"anatomy rule needs encoder_stages a whole number >= 1 (got {rule.encoder_stages})"
            )
        if self.precision not in PRECISIONS:
            raise BrainFuseError(
                f"unknown precision '{self.precision}': choose one of {', '.join(PRECISIONS)}"
            )
        if int(self.encoder_size) != self.encoder_size or not (
            self.encoder_size == 0 or self.encoder_size >= 32
        ):
            raise BrainFuseError(
                f"encoder size must be 0 (full resolution) or a whole number >= 32 pixels, "
                f"not {self.encoder_size}"
            )
        if not 0 <= self.background < 255:
            raise BrainFuseError(f"background level must be in [0, 255), not {self.background}")
        if self.refine not in REFINEMENTS:
            raise BrainFuseError(
                f"unknown refinement '{self.refine}': choose one of {', '.join(REFINEMENTS)}"
            )
        if self.cv_radius < 0 or not 0 <= self.min_area < 1:
            raise BrainFuseError(
                f"consistency verification needs cv_radius >= 0 and 0 <= min_area < 1 "
                f"(got {self.cv_radius}, {self.min_area})"
            )

    def with_(self, **changes: object) -> FusionSettings:
        """Return a copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]  # checked in __post_init__

    def encoder_stages(self, rule: str) -> int | None:
        """Say how many encoder stages the deep activity of ``rule`` sums (None: all).

        ``rule`` is the rule that runs (:func:`brainfuse.fusion.anatomy.rule_that_runs`):
        ``anatomy`` reads :attr:`AnatomyRule.encoder_stages`, ``sesf`` every stage.
        """
        return int(self.anatomy.encoder_stages) if rule == "anatomy" else None

    def as_record(self) -> dict:
        """Plain ``dict`` of every field (for provenance records and logs)."""
        return asdict(self)


def encoder_factor(shape: tuple[int, ...], encoder_size: int) -> int:
    """Whole factor by which slices of ``shape`` (..., H, W) are reduced for the encoder.

    ``round(min(H, W) / encoder_size)``, at least 1 (1 when ``encoder_size`` is 0): 2 for a
    512 x 512 slice at the default 256, 1 for 256 x 256 and for anything below 384.
    """
    if encoder_size <= 0:
        return 1
    return max(1, round(min(shape[-2:]) / encoder_size))

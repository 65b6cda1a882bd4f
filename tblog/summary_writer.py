"""``tblog.SummaryWriter``: the tensorboardX and torch ``SummaryWriter`` API on a shared run."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tblog import _charts as charts
from tblog import _options, _registry
from tblog import _peer as peer
from tblog import _sessions as sessions
from tblog._encode import constant
from tblog._kinds import SUMMARY
from tblog._options import WriterOptions
from tblog._peer import FASTEST_FLUSH_SECS, peer_step
from tblog._run import Run
from tblog._sessions import default_run_name
from tblog._summaries import (
    audio_builder,
    check_domains,
    hparams_with_domains,
    scalar_summary,
    tensor_builder,
)
from tblog._values import check_tag
from tblog.writer import PathLike, RunWriter, put_session

__all__ = ["FASTEST_FLUSH_SECS", "SummaryWriter", "default_run_name"]

# RunWriter's add_scalar, looked up once: a plain add_scalar call goes straight to its fast path.
_plain_add_scalar = RunWriter.add_scalar


class SummaryWriter(RunWriter):
    """tensorboardX's and ``torch.utils.tensorboard``'s ``SummaryWriter``, writing through tblog.

    A drop-in: ``from tblog import SummaryWriter`` in place of either import. The constructor
    takes both peers' arguments, in their order; every ``add_*`` method of both peers works with
    their argument order and defaults. It is a ``RunWriter``: one background writer and one
    event file per run directory and process, shared with handlers and ``tblog.setup``.

    Where it differs on purpose: ``add_scalars`` writes into this same run (no sub-runs; it
    adds a Multiline chart per main tag to the Custom Scalars tab instead), the first
    ``add_hparams`` session goes into this run when its files hold no session and no point of
    a metric's tag (later ones, and those, into the peers' sub-runs),
    ``add_text`` keeps the tag as given (no ``/text_summary``), a missing ``global_step`` is
    counted per tag (the peers write step 0), and points reach the disk within ``flush_secs``
    = 1 s by default (the peers: 120 s).

    Args:
        log_dir: The run directory (``logdir`` is the same, tensorboardX's name); None or ""
            means the active ``tblog.setup()`` run, else a new run named as the peers name it,
            ``runs/<%b%d_%H-%M-%S>_<host><comment>`` (``default_run_name``).
        comment: Appended to that default directory name (ignored when a directory is given);
            with a comment, a default writer is a new run even during a ``tblog.setup()``.
            None is no comment, as in tensorboardX.
        purge_step: Hide every point at or after this step already in the run (a resumed run),
            like ``tblog.restore(purge_step=...)``; counted steps continue from there.
        max_queue: Accepted for compatibility and ignored: tblog's queue never waits for a
            number of events to write; it writes within ``flush_secs``.
        flush_secs: At most this many seconds pass between a point and its write to disk;
            0 (which the peers take) writes as often as tblog does at most,
            every ``FASTEST_FLUSH_SECS`` (0.05 s).
        filename_suffix: Appended to the names of the event files this process creates.
        write_to_disk: False: nothing is written or created; every call is still checked.
        logdir: tensorboardX's name of ``log_dir``.
        block_secs: See ``RunWriter``.
        timeout_secs: See ``RunWriter``.
        upload_secs: See ``RunWriter``.
        max_bytes: See ``RunWriter``.
        storage_options: See ``RunWriter``.
        spool_dir: See ``RunWriter``.
        nan_warning: See ``RunWriter``.

    Raises:
        ValueError: A bad option (``purge_step``, ``flush_secs`` ...); the message names it.
        TypeError: ``comment`` or ``filename_suffix`` is not a str.
    """

    def __init__(
        self,
        log_dir: PathLike | None = None,
        comment: str | None = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = _options.DEFAULT_FLUSH_SECS,
        filename_suffix: str = "",
        write_to_disk: bool = True,
        *,
        logdir: PathLike | None = None,
        block_secs: float = _options.DEFAULT_BLOCK_SECS,
        timeout_secs: float = _options.DEFAULT_TIMEOUT_SECS,
        upload_secs: float = _options.DEFAULT_UPLOAD_SECS,
        max_bytes: int | None = None,
        storage_options: Mapping[str, Any] | None = None,
        spool_dir: PathLike | None = None,
        nan_warning: bool = True,
    ) -> None:
        del max_queue  # tensorboardX's and torch's flush trigger; tblog writes every flush_secs
        comment, flush_secs, purge = peer.writer_arguments(
            comment, flush_secs, filename_suffix, purge_step
        )
        self._given = sessions.choose_logdir(log_dir, logdir, comment)
        self._options = WriterOptions.pick(locals())
        self._null = not write_to_disk
        self._metadata: tuple[int | None, float | None] | None = None
        self._charted: dict[str, frozenset[str]] = {}  # add_scalars keys already in the layout
        self._tbx = None
        self._reopening = threading.Lock()
        self._hold(sessions.open_share(self._given, self._options, purge, null=self._null))

    def _live(self) -> Run:
        """The run; after ``close()`` a call reopens this writer's share, as tensorboardX does."""
        run = self._run
        if run is None:
            with self._reopening:  # two threads writing after close() take one share
                run = self._run
                if run is None:
                    run = sessions.reopen_share(self._logdir, self._options, null=self._null)
                    self._hold(run)
        return run

    def _when(self, global_step: Any, walltime: Any) -> tuple[int | None, float | None]:
        """Checked step and walltime; missing ones come from an active ``use_metadata``."""
        return peer.checked_when(global_step, walltime, self._metadata)

    # ---- state ----------------------------------------------------------------------------

    @property
    def log_dir(self) -> str:
        """The run directory as given, relative or not (``torch.utils.tensorboard``'s attribute)."""
        return self._given

    @property
    def logdir(self) -> str:
        """The run directory as given, relative or not (tensorboardX's attribute), as a str."""
        return self._given

    @property
    def file_writer(self) -> Any:
        """A ``FileWriter`` whose ``add_summary``/``add_event`` write into this run; None if closed.

        For code that writes prebuilt protos (``writer.file_writer.add_summary(exp)``); after
        ``close()`` it is None, as in both peers, and ``_get_file_writer()`` reopens.
        """
        if self._run is None:
            return None
        return self._tensorboardx().file_writer

    def _get_file_writer(self) -> Any:
        """Return the ``file_writer``, reopened after ``close()`` (Lightning calls this name)."""
        return self._tensorboardx().file_writer

    @contextlib.contextmanager
    def use_metadata(
        self, *, global_step: int | None = None, walltime: float | None = None
    ) -> Iterator[SummaryWriter]:
        """A context in which calls of this writer without a step or walltime use these.

        Args:
            global_step: The step of calls that give none.
            walltime: The walltime (seconds since the epoch) of calls that give none.

        Raises:
            ValueError: Neither is given, or one is bad.
        """
        if global_step is None and walltime is None:
            msg = "use_metadata needs global_step or walltime"
            raise ValueError(msg)
        metadata = peer.checked_when(global_step, walltime)
        previous, self._metadata = self._metadata, metadata
        try:
            yield self
        finally:
            self._metadata = previous

    def export_scalars_to_json(self, path: PathLike) -> None:
        """Write the run's scalars to ``path`` in tensorboardX's layout.

        The layout is ``{"<logdir>/<tag>": [[walltime, step, value], ...]}``, read back from the
        run as TensorBoard shows it (purged points left out), so it holds every scalar of the
        run: those of ``add_scalar`` and of handlers too, not only ``add_scalars``'. Nothing is
        kept in memory for it. With ``write_to_disk=False`` it is ``{}``.

        Raises:
            NotImplementedError: The run is in object storage.
        """
        from tblog._location import is_url
        from tblog._read import scalar_points

        if is_url(self._logdir):
            msg = "export_scalars_to_json reads the run from disk; this run is in object storage"
            raise NotImplementedError(msg)
        self.flush()
        scalars = {} if self._null else scalar_points(self._logdir)
        exported = {os.path.join(self._given, tag): points for tag, points in scalars.items()}
        with open(path, "w", encoding="utf-8") as file:
            json.dump(exported, file)

    # ---- add_* with the peers' signatures -------------------------------------------------

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        display_name: str | bool = "",
        summary_description: str | bool = "",
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Add one scalar point; tensorboardX's and torch's extra arguments are both taken.

        Args:
            tag: The series name.
            scalar_value: A number, numpy scalar or 0-d array/tensor.
            global_step: The step; None resolves it (``use_metadata``, ``tblog.step``, else a
                per-tag count).
            walltime: Seconds since the epoch; default now.
            display_name: tensorboardX's chart title (a bool here is torch's ``new_style``).
            summary_description: tensorboardX's description (a bool: torch's
                ``double_precision``).
            new_style: torch's: write a float tensor (plugin ``scalars``) instead of a
                ``simple_value``.
            double_precision: torch's: with ``new_style``, keep the value as a double.

        Raises:
            ValueError: A bad tag, value, step or walltime (the message names it).
        """
        if display_name or summary_description or new_style or self._metadata is not None:
            self._scalar(
                tag,
                scalar_value,
                global_step,
                walltime,
                display_name,
                summary_description,
                new_style,
                double_precision,
            )
            return
        _plain_add_scalar(self, tag, scalar_value, global_step, walltime)  # the one fast path

    def _scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: Any,
        walltime: Any,
        display_name: str | bool,
        summary_description: str | bool,
        new_style: bool,
        double_precision: bool,
    ) -> None:
        """``add_scalar`` with the peers' extra arguments, or within ``use_metadata``."""
        display_name, summary_description, new_style, double_precision = peer.scalar_arguments(
            display_name, summary_description, new_style, double_precision
        )
        if not (display_name or summary_description or new_style):
            super().add_scalar(tag, scalar_value, *self._when(global_step, walltime))
            return
        run = self._live()
        checked = check_tag(tag)
        _, number = peer.checked_scalar(scalar_value)
        build = functools.partial(
            scalar_summary,
            checked,
            float(number),
            str(display_name),
            str(summary_description),
            new_style,
            double_precision,
        )
        run.put(SUMMARY, checked, build, *self._when(global_step, walltime))

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: Mapping[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add ``main_tag/<key>`` series to this run and overlay them in one Custom Scalars chart.

        Unlike the peers, no sub-run per key is made (one run, one event file); the run's
        Custom Scalars tab gets a Multiline chart titled ``main_tag`` in the ``add_scalars``
        category, showing every key as a line of one chart.

        Raises:
            TypeError: ``tag_scalar_dict`` is not a mapping.
            ValueError: A bad tag, value, step or walltime.
        """
        super().add_scalars(main_tag, tag_scalar_dict, global_step, walltime)
        known = self._charted.get(main_tag)
        if known is None or not known.issuperset(tag_scalar_dict):
            keys = [check_tag(key) for key in tag_scalar_dict]
            charts.add_lines(self._logdir, check_tag(main_tag), keys, self._layout_writer())
            self._charted[main_tag] = (known or frozenset()) | frozenset(keys)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Add a batch of images as one grid; ``img_tensor`` may be a list of CHW or HWC images.

        A list may hold numpy arrays or tensors (torch is not needed for it); its
        ``dataformats`` is ``"CHW"`` or ``"HWC"`` (the peers'), or the default ``"NCHW"``.

        Raises:
            ValueError: A list with ``dataformats`` other than CHW or HWC; a bad tag or step.
            ModuleNotFoundError: Pillow is missing (``pip install "tblog[image]"``).
        """
        if isinstance(img_tensor, (list, tuple)):
            img_tensor, dataformats = peer.stacked_images(img_tensor, dataformats)
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_image_with_boxes(
        self,
        tag: str,
        img_tensor: Any,
        box_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        *args: Any,
        rescale: float = 1,
        dataformats: str = "CHW",
        labels: Sequence[str] | None = None,
    ) -> None:
        """Add an image with boxes drawn on it; takes both peers' orders after ``walltime``.

        tensorboardX's is ``(..., walltime, dataformats, labels)``, torch's ``(..., walltime,
        rescale, dataformats, labels)``: a str there is read as ``dataformats``.

        Raises:
            TypeError: Too many positional arguments.
        """
        rescale, dataformats, labels = peer.boxes_arguments(args, rescale, dataformats, labels)
        self._tensorboardx().add_image_with_boxes(
            tag,
            img_tensor,
            box_tensor,
            global_step,
            walltime,
            dataformats=dataformats,
            labels=labels,
            rescale=rescale,
        )

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: int | None = None,
        sample_rate: int = 44100,
        walltime: float | None = None,
    ) -> None:
        """Add a mono clip of samples in [-1, 1] (clipped), as 16-bit WAV; needs no soundfile.

        ``sample_rate`` may be any whole number (``16e3``, ``np.int64(16000)``, a 0-d tensor),
        as torch takes it.

        Raises:
            ValueError: The samples are not one-dimensional, a bad sample rate, tag or step.
        """
        run = self._live()
        checked = check_tag(tag)
        build = audio_builder(checked, snd_tensor, sample_rate)
        run.put(SUMMARY, checked, build, *self._when(global_step, walltime))

    def add_tensor(
        self, tag: str, tensor: Any, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Add a whole tensor or array (torch's ``add_tensor``; plugin ``tensor``).

        Raises:
            ValueError: A bad tag, step or walltime, or a dtype a TensorProto cannot hold.
        """
        run = self._live()
        checked = check_tag(tag)
        build = tensor_builder(checked, tensor)
        run.put(SUMMARY, checked, build, *self._when(global_step, walltime))

    def add_hparams(
        self,
        hparam_dict: Mapping[str, Any],
        metric_dict: Mapping[str, Any],
        *args: Any,
        hparam_domain_discrete: Mapping[str, Sequence[Any]] | None = None,
        run_name: str | None = None,
        name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Record one HParams session: hyperparameters and metrics; takes both peers' orders.

        tensorboardX's is ``(hparam_dict, metric_dict, name, global_step)``, torch's
        ``(hparam_dict, metric_dict, hparam_domain_discrete, run_name, global_step)``. Each
        call is its own session in TensorBoard's HParams tab, as with the peers. The first
        session of a run goes into the run itself, so its own scalars are linked to the
        hyperparameters, if the run's files hold no session yet and no point of a metric's
        tag (also none of an earlier process: they are read once, at this first call), so a
        metric never joins a curve of the run; every other one goes into a sub-run
        named as the peers name it:
        ``name`` (``run_name``), else ``str(time.time())``.

        Raises:
            TypeError: The dicts are not mappings, a domain is not a list of values of its
                hyperparameter's type, or too many positional arguments.
            ValueError: A metric is not a number, or a bad step.
        """
        hparam_domain_discrete, name, global_step = peer.hparams_arguments(
            args, hparam_domain_discrete, name, global_step
        )
        domains = check_domains(hparam_dict, hparam_domain_discrete)
        build = functools.partial(hparams_with_domains, domains=domains)
        run = self._live()
        if self._null or sessions.claim_own_run(run, metric_dict):
            put_session(self, hparam_dict, metric_dict, global_step, build)
            return
        sub = sessions.sub_run(self._logdir, name or run_name or str(time.time()))
        with RunWriter.sharing(_registry.acquire(sub, self._options)) as session:
            put_session(session, hparam_dict, metric_dict, peer_step(global_step), build)

    def add_embedding(
        self,
        mat: Any,
        metadata: Any = None,
        label_img: Any = None,
        global_step: int | None = None,
        tag: str = "default",
        metadata_header: Any = None,
    ) -> None:
        """Add a projector embedding (tensorboardX's) below the run; none if not writing."""
        if self._null:
            return  # tensorboardX would still write the projector files
        self._tensorboardx().add_embedding(
            mat, metadata, label_img, self._when(global_step, None)[0], tag, metadata_header
        )
        run = self._live()
        if run.path is None:  # the Projector lists only directories that hold an event file
            from tensorboardX.proto.event_pb2 import Event

            run.put_event(constant(Event(wall_time=time.time())), point=False)

    # ---- Custom Scalars layout ------------------------------------------------------------

    def add_custom_scalars(self, layout: Mapping[str, Mapping[str, Sequence[Any]]]) -> None:
        """Add charts to the run's Custom Scalars layout, ``{category: {title: [kind, tags]}}``.

        ``kind`` is ``"Multiline"`` or ``"Margin"`` (3 tags: value, lower, upper); tags are
        regular expressions matched at the start of a tag. Layouts are merged: a chart of the
        same category and title is replaced, every other chart (also ``add_scalars``', and
        those an earlier process wrote into the run) stays.

        Raises:
            TypeError: The layout is not a mapping of mappings of ``[kind, tags]``.
            ValueError: An unknown chart kind, or a Margin chart without 3 tags.
        """
        charts.merge(self._logdir, layout, self._layout_writer())

    def add_custom_scalars_multilinechart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """Add a Multiline chart of ``tags`` to the run's Custom Scalars layout."""
        self.add_custom_scalars({category: {title: ["Multiline", list(tags)]}})

    def add_custom_scalars_marginchart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """Add a Margin chart of 3 tags (value, lower, upper) to the run's Custom Scalars layout.

        Raises:
            ValueError: ``tags`` does not hold exactly 3 tags.
        """
        self.add_custom_scalars({category: {title: ["Margin", list(tags)]}})

    def _layout_writer(self) -> Callable[[Any], None] | None:
        """What puts a layout summary on this writer's run; None for a writer that keeps none."""
        run = self._live()
        return None if self._null else charts.writer_on(run)

    # ---- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Flush and release this writer's share; a later call reopens it, as tensorboardX does."""
        if self._null:
            self._run = None
            return
        super().close()

"""The protos ``SummaryWriter`` writes (summaries, layouts, hparams) and their checks at a call."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tblog._peer import sample_rate as whole_sample_rate
from tblog._values import snapshot


def exact(tag: str) -> str:
    """A Custom Scalars regex matching ``tag`` only (the plugin matches at the start)."""
    return re.escape(tag) + "$"


def check_layout(layout: Any) -> dict[str, dict[str, list[Any]]]:
    """A copy of a Custom Scalars layout, or ValueError naming what is wrong with it."""
    if not isinstance(layout, Mapping):
        msg = f"layout must be a mapping of categories, got {type(layout).__name__}"
        raise TypeError(msg)
    checked: dict[str, dict[str, list[Any]]] = {}
    for category, charts in layout.items():
        if not isinstance(category, str) or not isinstance(charts, Mapping):
            msg = f"layout[{category!r}] must map chart titles to [kind, tags]"
            raise TypeError(msg)
        for title, chart in charts.items():
            kind, tags = (chart[0], list(chart[1])) if len(chart) == 2 else (None, [])
            if not isinstance(title, str) or kind not in {"Multiline", "Margin"}:
                msg = f"layout[{category!r}][{title!r}] must be ['Multiline' or 'Margin', tags]"
                raise ValueError(msg)
            if kind == "Margin" and len(tags) != 3:
                msg = f"a Margin chart needs 3 tags (value, lower, upper), got {len(tags)}"
                raise ValueError(msg)
            if not all(isinstance(tag, str) for tag in tags):
                msg = f"the tags of layout[{category!r}][{title!r}] must be str"
                raise TypeError(msg)
            checked.setdefault(category, {})[title] = [kind, tags]
    return checked


def scalar_summary(
    tag: str, value: float, display_name: str, description: str, new_style: bool, double: bool
) -> Any:
    """A scalar Summary with tensorboardX's metadata or torch's tensor encoding."""
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto

    metadata = SummaryMetadata(display_name=display_name, summary_description=description)
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=value, metadata=metadata)])
    metadata.plugin_data.plugin_name = "scalars"
    if double:
        tensor = TensorProto(dtype="DT_DOUBLE", double_val=[value])
    else:
        tensor = TensorProto(dtype="DT_FLOAT", float_val=[value])
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=metadata)])


def audio_summary(wave: Any, tag: str, samples: Any, sample_rate: int) -> Any:
    """An audio Summary of mono samples as 16-bit PCM WAV (what torch writes)."""
    import numpy as np
    from tensorboardX.proto.summary_pb2 import Summary

    pcm = (np.clip(samples, -1, 1) * np.iinfo(np.int16).max).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    audio = Summary.Audio(
        sample_rate=sample_rate,
        num_channels=1,
        length_frames=len(pcm),
        encoded_audio_string=buffer.getvalue(),
        content_type="audio/wav",
    )
    return Summary(value=[Summary.Value(tag=tag, audio=audio)])


def audio_builder(tag: str, sound: Any, sample_rate: Any) -> Callable[[], Any]:
    """What builds an audio summary of ``sound`` (copied and checked now) on the writer thread.

    Raises:
        ValueError: ``sound`` is not one channel of samples, or a bad sample rate.
    """
    samples = snapshot(sound).squeeze()
    if samples.ndim != 1:
        msg = f"snd_tensor must hold one channel of samples, got shape {samples.shape}"
        raise ValueError(msg)
    rate = whole_sample_rate(sample_rate)
    import wave  # here, not on the writer thread: a fork never catches it mid-import

    return functools.partial(audio_summary, wave, tag, samples, rate)


_DTYPES = {
    "float16": "DT_HALF",
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "uint16": "DT_UINT16",
    "uint32": "DT_UINT32",
    "uint64": "DT_UINT64",
    "bool": "DT_BOOL",
    "complex64": "DT_COMPLEX64",
    "complex128": "DT_COMPLEX128",
}


def dtype_name(array: Any) -> str | None:
    """The TensorProto dtype of ``array``, or None for one TensorBoard cannot read."""
    return _DTYPES.get(str(array.dtype))


def tensor_summary(tag: str, array: Any) -> Any:
    """A Summary holding the whole array as a TensorProto (plugin ``tensor``, like torch's)."""
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=n) for n in array.shape])
    content = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    tensor = TensorProto(dtype=dtype_name(array), tensor_shape=shape, tensor_content=content)
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata, tensor=tensor)])


def tensor_builder(tag: str, tensor: Any) -> Callable[[], Any]:
    """What builds a tensor summary of ``tensor`` (copied and checked now) on the writer thread.

    Raises:
        ValueError: A dtype a TensorProto cannot hold.
    """
    array = snapshot(tensor)
    if dtype_name(array) is None:
        msg = f"add_tensor cannot write dtype {array.dtype}"
        raise ValueError(msg)
    return functools.partial(tensor_summary, tag, array)


def check_domains(
    hparam_dict: Any, domains: Mapping[str, Sequence[Any]] | None
) -> dict[str, list[Any]]:
    """Check torch's ``hparam_domain_discrete``: lists of values of each hparam's type."""
    if not domains:
        return {}
    if not isinstance(domains, Mapping) or not isinstance(hparam_dict, Mapping):
        msg = "hparam_domain_discrete must be a mapping of hparam names to lists of values"
        raise TypeError(msg)
    for key, values in domains.items():
        if key not in hparam_dict or not isinstance(values, list):
            fits = False
        else:
            kind = type(hparam_dict[key])
            fits = all(isinstance(value, kind) for value in values)
        if not fits:
            msg = f"hparam_domain_discrete[{key!r}] must list values of hparam_dict[{key!r}]'s type"
            raise TypeError(msg)
    return {key: list(values) for key, values in domains.items()}


def hparams_with_domains(
    hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any], domains: dict[str, list[Any]]
) -> tuple[Any, Any, Any]:
    """Build tensorboardX's hparams summaries, with each domain's values in the experiment."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    from tblog._encode import hparams_summaries

    experiment, start, end = hparams_summaries(hparam_dict, metric_dict)
    if domains:
        content = experiment.value[0].metadata.plugin_data
        data = HParamsPluginData.FromString(content.content)
        for info in data.experiment.hparam_infos:
            for value in domains.get(info.name, ()):
                item = info.domain_discrete.values.add()
                if isinstance(value, bool):
                    item.bool_value = value
                elif isinstance(value, str):
                    item.string_value = value
                else:
                    item.number_value = float(value)
        content.content = data.SerializeToString()
    return experiment, start, end

"""Where a training process stands: alone, or one rank of a `torchrun` job; and how the model is wrapped.

Why a module of its own: the recipe must run unchanged on one CPU and under `torchrun --nproc_per_node N`
(DDP or FSDP). Everything that differs between the two is here: reading WORLD_SIZE / RANK / LOCAL_RANK (set by
torchrun), the process group (gloo on CPU, nccl on CUDA), the wrappers, the collective sums, and gathering a
sharded model back into one full copy for saving.

FSDP is FSDP2 (`torch.distributed.fsdp.fully_shard`): each transformer block (the model's `_no_split_modules`)
is sharded as one unit, then the root (embeddings, final norm, head). It runs on CPU with gloo as on CUDA with
nccl. It needs every rank to start from the same weights, which the seeded loading guarantees.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.distributed as dist

from codx.errors import CodxError

Parallel = Literal["none", "ddp", "fsdp"]


@dataclass(frozen=True)
class DistEnv:
    world: int
    rank: int
    local_rank: int
    device: torch.device
    parallel: Parallel  # what is in effect: "none" whenever the world has one process
    owns_group: bool  # this code started the process group (and ends it)

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched_world() -> tuple[int, int, int]:
    """(world size, rank, local rank) from torchrun's environment; (1, 0, 0) for a plain process."""
    env = os.environ
    return int(env.get("WORLD_SIZE", "1")), int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0"))


def start(parallel: Parallel) -> DistEnv:
    """Join the torchrun job if there is one (a CUDA device per local rank when CUDA is present)."""
    world, rank, local = launched_world()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", local % torch.cuda.device_count()) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world == 1:
        return DistEnv(1, 0, 0, device, "none", owns_group=False)
    if parallel == "none":
        raise CodxError(
            f"started by torchrun with {world} processes but parallel is 'none'; pass --parallel ddp or fsdp "
            "(or run one process without torchrun)"
        )
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if cuda else "gloo")
    return DistEnv(world, rank, local, device, parallel, owns_group=owns)


def stop(env: DistEnv) -> None:
    if env.owns_group and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def block_classes(model: Any) -> set[str]:
    """Class names of the transformer blocks (transformers' `_no_split_modules`), through a PEFT wrapper."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(inner, "_no_split_modules", None) or [])
    if not names:
        raise CodxError(f"{type(inner).__name__} names no transformer blocks (_no_split_modules); use --parallel ddp")
    return names


def wrap(model: torch.nn.Module, env: DistEnv) -> torch.nn.Module:
    """The model as the training loop calls it: itself, DDP, or FSDP2-sharded (in place)."""
    if env.parallel == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[env.device.index] if env.device.type == "cuda" else None)
    if env.parallel == "fsdp":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(env.device.type, (env.world,))
        names = block_classes(model)
        for module in list(model.modules()):
            if type(module).__name__ in names:
                fully_shard(module, mesh=mesh)
        fully_shard(model, mesh=mesh)
    return model


@contextmanager
def gradient_sync(model: torch.nn.Module, env: DistEnv, sync: bool) -> Iterator[None]:
    """Skip the gradient all-reduce on all but the last micro-batch of a step (gradient accumulation)."""
    if sync or env.parallel == "none":
        yield
    elif env.parallel == "ddp":
        with model.no_sync():  # type: ignore[operator]
            yield
    else:
        model.set_requires_gradient_sync(False)  # type: ignore[operator]
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)  # type: ignore[operator]


def total(value: float, env: DistEnv) -> float:
    """The sum of `value` over all ranks."""
    if env.world == 1:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64, device=env.device)
    dist.all_reduce(t)
    return float(t.item())


def full_state_dict(model: torch.nn.Module, env: DistEnv) -> dict[str, torch.Tensor] | None:
    """The whole weights of an FSDP-sharded model on CPU at rank 0 (None elsewhere); every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return state if env.main else None


def unwrap(model: torch.nn.Module, env: DistEnv) -> torch.nn.Module:
    return model.module if env.parallel == "ddp" else model  # type: ignore[return-value]


def barrier(env: DistEnv) -> None:
    if env.world > 1:
        dist.barrier()


def broadcast(obj: Any, env: DistEnv) -> Any:
    """Rank 0's `obj` on every rank."""
    if env.world == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def autocast(env: DistEnv) -> Any:
    """bf16 autocast on CUDA; full fp32 on CPU."""
    if env.device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


__all__ = [
    "DistEnv",
    "Parallel",
    "autocast",
    "barrier",
    "broadcast",
    "full_state_dict",
    "gradient_sync",
    "launched_world",
    "start",
    "stop",
    "total",
    "unwrap",
    "wrap",
]

"""Training memory per GPU: model states, adapters, activations, logits and overhead.

Sizes in bytes; the figures are for the busiest GPU (the first pipeline stage, which also holds
the most in-flight micro-batches; the last stage when the logits outweigh that).

- Model states (Rajbhandari et al. 2020, ZeRO, sec. 3): mixed precision keeps 2 B bf16 weights,
  2 B gradients and 12 B of fp32 master weights + Adam moments per trained parameter; ZeRO stage
  1 shards the optimizer states, 2 also the gradients, 3 also the weights, over the sharding group
  (FSDP full shard = stage 3; hybrid shard = a smaller group). Pure bf16 drops the master copy and
  keeps the moments in bf16 (torchtune's full_finetune_single_device).
- The optimizer step needs one fp32 temporary per sharded parameter (torch's foreach AdamW builds
  `exp_avg_sq.sqrt()`; DeepSpeed unscales fp32 gradients), while activations are already freed:
  the peak is states + max(backward working set, step temporary).
- LoRA (Hu et al. 2021): A (r x d_in) and B (d_out x r) per targeted linear, trained with the full
  16 B/param recipe; DoRA (Liu et al. 2024) adds a d_out magnitude vector and materialises the
  adapted weight of one linear at a time. QLoRA (Dettmers et al. 2023): NF4 base weights with
  double quantization (4.127 bit), bf16 compute, paged optimizer.
- Activations (Korthikanti et al. 2022, sec. 4, eq. 1-2, adapted): bf16 tensors each layer keeps
  for backward. A SwiGLU/RMSNorm block with GQA keeps the norm outputs, q/k/v and the attention
  output, and the MLP's gate, up, activation and product (8·s·b·f); eager attention also keeps
  the a·s² softmax probabilities (fp32 + bf16 in Hugging Face eager). MoE layers keep k routed
  copies of each token's MLP activations. Selective recompute (our definition, as Megatron's
  `--recompute-modules` with flash attention) recomputes norms and elementwise activations from
  saved matmul outputs; full recompute keeps one 2·s·b·h layer input per layer and rebuilds one
  layer at a time. TP with sequence parallelism divides all of it, CP divides the sequence. The
  first of p pipeline stages holds p micro-batches in flight (1F1B), x(1 + (p-1)/(p·v)) when
  interleaved with v chunks (Korthikanti sec. 4.2.3).
- Logits: s·b·V/tp elements, bytes per element depend on how the loss is computed (fp32 upcast
  and log-softmax in Hugging Face; fused/chunked cross-entropy keeps a fraction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import calibration as cal
from .hardware import GIB
from .inputs import TrainingInputs
from .memory import WEIGHT_BITS
from .model import ModelSpec, ParamCounts

# Optimizer state bytes per trained parameter, beside the fp32 master copy (mixed precision).
# 8-bit AdamW: two uint8 moments + fp32 block-wise constants per 2048 (Dettmers et al. 2022,
# bitsandbytes). Adafactor: factored second moment, rows + columns per matrix, no momentum
# (Shazeer & Stern 2018), counted per parameter as 4 B x (1/d_in + 1/d_out) ~ 8/h.
_STATE_BYTES = {"adamw": 8.0, "paged_adamw": 8.0, "adamw8bit": 2.0 + 8.0 / 2048, "paged_adamw8bit": 2.0 + 8.0 / 2048,
                "sgd": 4.0}


@dataclass(frozen=True, slots=True)
class Layout:
    """How the GPUs split the work: data-parallel replicas and the sharding groups."""

    gpus: int
    tp: int
    pp: int
    cp: int
    ep: int
    dp: int  # data-parallel replicas (gpus / (tp·pp·cp))
    shard: int  # ZeRO/FSDP sharding group of the dense parameters
    expert_shard: int  # sharding group of the routed experts (expert data parallel)
    micro_batches: int  # micro-batches per optimizer step on one replica

    @property
    def model_parallel(self) -> int:
        return self.tp * self.pp * self.cp


def layout(t: TrainingInputs, gpus: int) -> Layout:
    tp, pp, cp, ep = t.tensor_parallel, t.pipeline_parallel, t.context_parallel, t.expert_parallel
    dp = max(1, gpus // (tp * pp * cp))
    group = dp * cp  # Megatron's distributed optimizer and torchtitan's FSDP shard over dp x cp
    shard = min(t.shard_group, group) if t.shard_group else group
    expert_shard = max(1, shard * tp // ep)
    per_replica_batch = max(1, math.ceil(t.global_batch_size / dp))
    micro = max(1, math.ceil(per_replica_batch / t.micro_batch_size))
    if t.gradient_accumulation and t.global_batch_size <= 0:
        micro = t.gradient_accumulation
    return Layout(gpus, tp, pp, cp, ep, dp, max(1, shard), expert_shard, micro)


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Per-GPU bytes, by what holds them; `total` is what must fit on the GPU."""

    weights: float
    gradients: float
    optimizer: float
    adapters: float
    activations: float
    logits: float
    trainable_params: int
    step_temporary: float  # the optimizer step's fp32 temporary (when it, not backward, peaks)
    gradients_persistent: bool  # preallocated buffers (Megatron, DeepSpeed) vs lazily set (PyTorch)
    early_gradients: float  # gradient bytes of the LM head and last layer (first out of backward)
    context: float  # CUDA context and cuBLAS workspaces: outside PyTorch's allocator
    fixed: float  # the framework's fixed buffers, NCCL communicators, reduction buckets
    in_flight: float  # ZeRO-3 gathered layers, dequantised / DoRA-adapted weights
    fragmentation: float  # caching-allocator reserve beyond what is allocated

    @property
    def overhead(self) -> float:
        return self.context + self.fixed + self.in_flight + self.fragmentation

    @property
    def allocated(self) -> float:
        """What torch.cuda.max_memory_allocated() would report."""
        return self.total - self.context - self.fragmentation

    @property
    def reserved(self) -> float:
        """What torch.cuda.max_memory_reserved() would report."""
        return self.total - self.context

    @property
    def states(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.adapters

    @property
    def _persistent(self) -> float:
        return self.weights + self.optimizer + self.adapters + (self.gradients if self.gradients_persistent else 0.0)

    @property
    def _backward(self) -> float:
        # lazily allocated gradients: the LM head's and the last layer's exist while every
        # activation is still held (the first gradients backward produces)
        early = 0.0 if self.gradients_persistent else min(self.gradients, self.early_gradients)
        return self.activations + self.logits + early

    @property
    def _step(self) -> float:
        return self.step_temporary + (0.0 if self.gradients_persistent else self.gradients)

    @property
    def peak_phase(self) -> str:
        """When the peak happens: at the start of backward (activations and logits all held) or
        at the optimizer step (all gradients and the step's temporaries)."""
        return "backward" if self._backward >= self._step else "optimizer step"

    @property
    def total(self) -> float:
        return self._persistent + max(self._backward, self._step) + self.overhead

    def breakdown_gib(self) -> dict[str, float]:
        """What the GPU holds at the peak, by owner (GiB); sums to `total`."""
        backward = self.peak_phase == "backward"
        grads = self.gradients if (self.gradients_persistent or not backward) else min(self.gradients, self.early_gradients)
        return {
            "weights": self.weights / GIB,
            "gradients": grads / GIB,
            "optimizer": (self.optimizer + (0.0 if backward else self.step_temporary)) / GIB,
            "adapters": self.adapters / GIB,
            "activations": (self.activations if backward else 0.0) / GIB,
            "logits": (self.logits if backward else 0.0) / GIB,
            "overhead": self.overhead / GIB,
        }


# -- parameters ------------------------------------------------------------------------------


def _linears(spec: ModelSpec) -> dict[str, tuple[int, int]]:
    """(d_in, d_out) of each linear of one decoder block, by its Llama-style module name."""
    h, hd = spec.hidden_size, spec.head_dim
    if spec.is_mla:
        q_out = spec.num_heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim)
        kv_out = spec.kv_lora_rank + spec.qk_rope_head_dim
        o_in = spec.num_heads * spec.v_head_dim
    else:
        q_out, kv_out, o_in = spec.num_heads * hd, spec.num_kv_heads * hd, spec.num_heads * hd
    f = spec.intermediate_size or spec.moe_intermediate_size
    out = {"q_proj": (h, q_out), "k_proj": (h, kv_out), "v_proj": (h, kv_out), "o_proj": (o_in, h),
           "up_proj": (h, f), "down_proj": (f, h)}
    if spec.gated_mlp:
        out["gate_proj"] = (h, f)
    return out


def target_modules(t: TrainingInputs) -> tuple[str, ...]:
    if t.lora_modules:
        return t.lora_modules
    if t.lora_targets == "attention":
        return ("q_proj", "k_proj", "v_proj", "o_proj")
    return ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def lora_params(spec: ModelSpec, rank: int, modules: tuple[str, ...], dora: bool = False) -> int:
    """Adapter parameters over all layers: r·(d_in + d_out) per targeted linear (+ d_out for DoRA's
    magnitude). MoE experts are not targeted (PEFT's all-linear skips fused expert weights)."""
    per_layer = 0
    for name, (d_in, d_out) in _linears(spec).items():
        if name in modules:
            per_layer += rank * (d_in + d_out) + (d_out if dora else 0)
    return spec.num_layers * per_layer


def _stage_params(spec: ModelSpec, params: ParamCounts, lay: Layout) -> tuple[float, float, float, float]:
    """(dense block params, expert params, embedding, lm_head) held by the first pipeline stage's
    GPU, before ZeRO sharding: blocks / tp, experts / ep, embedding on the first stage, LM head on
    the last (both on one stage without pipelining)."""
    layers = math.ceil(spec.num_layers / lay.pp)
    share = layers / spec.num_layers
    dense = (params.total - params.embedding - params.lm_head - params.experts) * share / lay.tp
    experts = params.experts * share / lay.ep
    embedding = params.embedding / lay.tp
    lm_head = params.lm_head / lay.tp if lay.pp == 1 else 0.0
    if lay.pp > 1 and params.lm_head > params.embedding:
        embedding = params.lm_head / lay.tp
    return dense, experts, embedding, lm_head


# -- activations -----------------------------------------------------------------------------


def layer_activation_bytes(
    spec: ModelSpec, t: TrainingInputs, tokens: float, seq: int, moe: bool, mode: str | None = None
) -> float:
    """Bytes one decoder layer keeps for backward for `tokens` (= s·b) tokens of `seq`-long
    sequences, on one GPU before TP/SP division. See the module docstring for the terms."""
    h = spec.hidden_size
    if spec.is_mla:
        q = spec.num_heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim)
        kv = q + spec.num_heads * spec.v_head_dim  # k and v as the attention core sees them
        o = spec.num_heads * spec.v_head_dim
    else:
        q, kv, o = spec.num_heads * spec.head_dim, 2 * spec.num_kv_heads * spec.head_dim, spec.num_heads * spec.head_dim
    eager = t.framework == "hf" and not t.compile
    norm = cal.TRAIN_EAGER_NORM_BYTES if eager else 2.0  # HF RMSNorm upcasts to fp32
    f = spec.intermediate_size
    if moe:
        k, fe = spec.experts_per_token, spec.moe_intermediate_size
        shared = spec.num_shared_experts * spec.shared_expert_intermediate_size
        # router logits (fp32), k permuted input copies, k expert MLPs, k outputs to combine
        mlp_saved = 4 * spec.num_experts + k * (2 * h + (8 if spec.gated_mlp else 4) * fe + 2 * h)
        mlp_saved += (8 if spec.gated_mlp else 4) * shared
        mlp_gu = k * 4 * fe + 4 * shared
    else:
        mlp_saved = (8 if spec.gated_mlp else 4) * f
        mlp_gu = 4 * f if spec.gated_mlp else 2 * f
    mode = mode or t.gradient_checkpointing
    if mode == "full":
        return 2.0 * h * tokens
    attn_core = 2 * (q + kv) + 2 * o  # q, k, v into the attention kernel; its output
    if mode == "selective":
        # keep the layer input, the mid-block residual, q/k/v/o and the MLP's matmul outputs
        per_token = 2 * h + 2 * h + attn_core + mlp_gu
    else:
        per_token = 2 * norm * h + 2 * h + attn_core + mlp_saved + 2 * h  # norms, input, attn, MLP in
    per_seq_quadratic = 0.0
    if not t.flash_attention and mode == "none":
        window = spec.sliding_window or seq
        # softmax probabilities per head: fp32 + bf16 copy in HF eager, bf16 elsewhere
        per_seq_quadratic = (6.0 if eager else 2.0) * spec.num_heads * seq * min(seq, window)
    saved = per_token * tokens + per_seq_quadratic * tokens / seq
    if t.compile:
        saved *= cal.TRAIN_COMPILE_ACTIVATION_SHARE  # the min-cut partitioner recomputes elementwise ops
    if t.precision == "fp4":
        saved *= cal.TRAIN_FP4_ACTIVATION_SHARE  # NVFP4 linears save their 4-bit inputs for backward
    return saved


def _full_layer_bytes(spec: ModelSpec, t: TrainingInputs, tokens: float, seq: int, moe: bool) -> float:
    """One layer's activations as rebuilt during recompute (its working set in backward)."""
    return layer_activation_bytes(spec, t, tokens, seq, moe, mode="none")


def activation_bytes(spec: ModelSpec, t: TrainingInputs, lay: Layout, micro_batch: int, seq: int) -> tuple[float, float]:
    """(first stage, last stage) activation bytes per GPU at the backward peak."""
    seq_local = seq / lay.cp
    tokens = seq_local * micro_batch
    split = lay.tp if (t.sequence_parallel or lay.tp == 1) else 1.0
    flags = spec.moe_layers or (spec.is_moe,) * spec.num_layers
    layers = math.ceil(spec.num_layers / lay.pp)
    stage = flags[:layers]
    n_moe = sum(1 for m in stage if m)
    kept = sum(count * layer_activation_bytes(spec, t, tokens, int(seq_local), m)
               for m, count in ((True, n_moe), (False, len(stage) - n_moe)) if count) / split
    if t.activation_offloading:
        kept *= min(1.0, 2.0 / max(1, layers))  # only the layers being moved stay on the GPU
    # With recompute, backward of the last layer rebuilds its full activations on top of the
    # inputs the earlier layers kept: (L-1) kept + one full layer.
    rebuild = 0.0
    if t.gradient_checkpointing != "none" and layers:
        per_kept = kept / layers
        full = max(_full_layer_bytes(spec, t, tokens, int(seq_local), m) for m in set(stage)) / split
        rebuild = max(0.0, full - per_kept)
    if lay.pp > 1:
        in_flight = min(lay.pp, lay.micro_batches) * (1 + (lay.pp - 1) / (lay.pp * max(1, t.virtual_pipeline)))
    else:
        in_flight = 1.0
    first = kept * in_flight + rebuild
    last = kept + rebuild
    return first, last


def logits_bytes(spec: ModelSpec, t: TrainingInputs, lay: Layout, micro_batch: int, seq: int) -> float:
    elements = seq / lay.cp * micro_batch * spec.vocab_size / lay.tp
    if t.chunked_cross_entropy:
        per = cal.TRAIN_LOGIT_BYTES_CHUNKED
    elif t.compile:
        per = cal.TRAIN_LOGIT_BYTES_COMPILED
    else:
        per = cal.TRAIN_LOGIT_BYTES[t.framework]
    return elements * per


# -- the whole GPU ---------------------------------------------------------------------------


def memory_per_gpu(
    spec: ModelSpec, params: ParamCounts, t: TrainingInputs, gpus: int,
    micro_batch: int | None = None, seq: int | None = None,
) -> MemoryEstimate:
    lay = layout(t, gpus)
    b = micro_batch or t.micro_batch_size
    s = seq or t.sequence_length
    dense, experts, embed, head = _stage_params(spec, params, lay)
    zero = t.zero_stage
    pure = t.precision == "bf16"
    master = 0.0 if pure else 4.0
    grad_b = cal.TRAIN_GRAD_BYTES[t.framework] if not pure else 2.0
    states_b = _STATE_BYTES.get(t.optimizer, 8.0)
    if t.optimizer == "adafactor":
        states_b = 8.0 / spec.hidden_size
    elif pure and t.optimizer in ("adamw", "paged_adamw", "sgd"):
        states_b /= 2  # moments in bf16

    def shard_of(count_dense: float, count_expert: float, stage: int) -> float:
        return (count_dense / lay.shard + count_expert / lay.expert_shard) if zero >= stage else (count_dense + count_expert)

    weights = grads = optim = adapters = 0.0
    early_grads = 0.0
    in_flight = 0.0
    step_temp = 0.0
    layers_here = math.ceil(spec.num_layers / lay.pp)
    layer_params = (dense + experts) / max(1, layers_here)
    if t.method in ("full", "freeze"):
        frac = 1.0
        if t.method == "freeze":
            trained_layers = t.trainable_layers if t.trainable_layers is not None else max(1, spec.num_layers // 4)
            frac = min(1.0, trained_layers / spec.num_layers)
        d_tr, e_tr = (dense + embed + head) * frac, experts * frac
        d_fr, e_fr = (dense + embed + head) * (1 - frac), experts * (1 - frac)
        trainable = int((params.total) * frac)
        weights = 2.0 * shard_of(d_tr, e_tr, 3) + 2.0 * shard_of(d_fr, e_fr, 3)
        if t.offload_params and zero >= 3:
            weights = 0.0
        if t.optimizer_in_backward:
            grads = grad_b * max(embed, head, layer_params / 4)  # one tensor's gradient at a time
        else:
            grads = grad_b * shard_of(d_tr, e_tr, 2)
        optim = (master + states_b) * shard_of(d_tr, e_tr, 1)
        early_grads = grad_b * (head + embed * (lay.pp == 1 and not head) + layer_params) / (lay.shard if zero >= 2 else 1)
        if t.offload_optimizer:
            optim = 0.0
            grads = min(grads, grad_b * layer_params)  # gradients stream to the CPU per bucket
        if t.optimizer in ("adamw", "paged_adamw", "adamw8bit", "paged_adamw8bit") and not t.offload_optimizer \
                and not t.optimizer_in_backward and t.framework == "hf":
            step_temp = 4.0 * shard_of(d_tr, e_tr, 1)
        if zero >= 3 and lay.shard > 1:
            # ZeRO-3/FSDP: the current and the prefetched layer gathered in bf16, and one layer's
            # unsharded gradients waiting for reduce-scatter
            in_flight = 2 * 2.0 * layer_params + grad_b * layer_params * frac
    else:
        dora = t.method == "dora"
        modules = target_modules(t)
        share = layers_here / spec.num_layers
        trainable_all = lora_params(spec, t.lora_rank, modules, dora)
        trainable = trainable_all
        lora_here = trainable_all * share / lay.tp
        if t.method == "qlora":
            bits = WEIGHT_BITS[t.qlora_format]
            block = (dense + experts) * bits / 8.0
            # norms and routers stay 16-bit: a rounding error next to the linears
        else:
            bits = 16.0
            block = (dense + experts) * 2.0
        frozen = block + (embed + head) * 2.0
        weights = frozen / (lay.shard if zero >= 3 else 1)
        adapter_w = 2.0 if pure else 4.0  # PEFT keeps adapters in fp32 under bf16 autocast
        adapters = lora_here * adapter_w
        grads = lora_here * (2.0 if pure else 4.0)
        optim = lora_here * states_b  # adapters are fp32 already: no separate master copy
        if t.offload_optimizer:
            optim = 0.0
        if t.lora_train_embeddings:
            emb = embed + head
            trainable += int(params.embedding + params.lm_head)
            # a trainable copy of both (modules_to_save) in bf16, its gradient, fp32 moments
            weights += 2.0 * emb / (lay.shard if zero >= 3 else 1)
            grads += 2.0 * emb / (lay.shard if zero >= 2 else 1)
            optim += states_b * emb / (lay.shard if zero >= 1 else 1)
            step_temp = 4.0 * emb / (lay.shard if zero >= 1 else 1)
        if zero >= 3 and lay.shard > 1:
            in_flight = 2 * (block / max(1, layers_here))
        if t.method == "qlora" or dora:
            # one linear's weight dequantised / adapted to bf16 at a time (bitsandbytes, PEFT DoRA)
            biggest = max(d_in * d_out for d_in, d_out in _linears(spec).values())
            in_flight += 2 * 2.0 * biggest / lay.tp

    first, last = activation_bytes(spec, t, lay, b, s)
    logit = logits_bytes(spec, t, lay, b, s)
    if lay.pp > 1 and last + logit > first:
        act, lg = last, logit
    elif lay.pp > 1:
        act, lg = first, 0.0
    else:
        act, lg = first, logit
    if t.method == "dora":
        act *= 1.0 + cal.TRAIN_DORA_ACTIVATION_EXTRA
    context = cal.TRAIN_CUDA_CONTEXT_GIB * GIB
    fixed = cal.TRAIN_FRAMEWORK_GIB[t.framework] * GIB + (cal.TRAIN_COMM_BUFFER_GIB * GIB if gpus > 1 else 0.0)
    fragmentation = cal.TRAIN_FRAGMENTATION * (act + lg + in_flight)
    return MemoryEstimate(
        weights=weights, gradients=grads, optimizer=optim, adapters=adapters, activations=act, logits=lg,
        trainable_params=trainable, step_temporary=step_temp, context=context,
        gradients_persistent=t.framework == "megatron" or (t.framework == "hf" and zero >= 1),
        early_gradients=early_grads, fixed=fixed,
        in_flight=in_flight, fragmentation=fragmentation,
    )

"""The demo adapters `hub demo` publishes: realistic names, bases, tasks and model cards."""

from __future__ import annotations

from hub.demo import GPT2, SMOLLM2, TINYLLAMA, DemoAdapter
from hub.registry.publish.metadata import PublishMetadata

_ALL_LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

DEMO_CATALOG = [
    DemoAdapter(
        name="gpt2-sst2-lora",
        base=GPT2,
        method="lora",
        targets=["c_attn"],
        task_type="SEQ_CLS",
        rank=8,
        card="# GPT-2 SST-2 sentiment (LoRA)\n\nLoRA r=8 on `c_attn` of GPT-2 small, trained on SST-2 "
        "(binary sentiment). Accuracy 0.91 on the validation split.\n\n```python\nimport sdk as hub\n"
        'model = hub.pull("demo/gpt2-sst2-lora", into=model)\n```\n',
        meta=PublishMetadata(base_model_type="gpt2", license="mit", tags=["sentiment", "sst2", "english"]),
    ),
    DemoAdapter(
        name="gpt2-imdb-ia3",
        base=GPT2,
        method="ia3",
        targets=["c_attn", "c_proj"],
        feedforward=["c_proj"],
        task_type="SEQ_CLS",
        card="# GPT-2 IMDB reviews (IA3)\n\n(IA)³ scaling vectors on attention and the MLP "
        "output of GPT-2 small, for movie-review sentiment. 0.06% of the base's parameters.\n",
        meta=PublishMetadata(base_model_type="gpt2", license="mit", tags=["sentiment", "imdb", "english"]),
    ),
    DemoAdapter(
        name="smollm2-alpaca-lora",
        base=SMOLLM2,
        method="lora",
        targets=_ALL_LLAMA_LINEAR,
        task_type="CAUSAL_LM",
        rank=8,
        card="# SmolLM2-135M instruction tuning (LoRA)\n\nLoRA r=8 on every linear projection, trained "
        "on the Alpaca instructions for two epochs.\n",
        meta=PublishMetadata(base_model_type="llama", license="apache-2.0", tags=["instruction-tuning", "alpaca"]),
    ),
    DemoAdapter(
        name="smollm2-summarize-ia3",
        base=SMOLLM2,
        method="ia3",
        targets=["k_proj", "v_proj", "down_proj"],
        feedforward=["down_proj"],
        task_type="CAUSAL_LM",
        card="# SmolLM2-135M news summaries (IA3)\n\nTrained on CNN/DailyMail highlights; ROUGE-L 0.29.\n",
        meta=PublishMetadata(
            base_model_type="llama",
            task="summarization",
            license="apache-2.0",
            tags=["summarization", "news"],
        ),
    ),
    DemoAdapter(
        name="tinyllama-sql-lora",
        base=TINYLLAMA,
        method="lora",
        targets=["q_proj", "v_proj"],
        rank_pattern={"v_proj": 4},
        task_type="CAUSAL_LM",
        rank=8,
        card="# TinyLlama text-to-SQL (LoRA)\n\n"
        "LoRA on `q_proj` (r=8) and `v_proj` (r=4) of TinyLlama-1.1B-Chat, trained on Spider and WikiSQL.\n",
        meta=PublishMetadata(base_model_type="llama", license="apache-2.0", tags=["text-to-sql", "code"]),
    ),
]

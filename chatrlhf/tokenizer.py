"""Byte-level BPE tokenizer, special tokens and the chat template.

A conversation renders as

    <|system|>You are helpful.<|end|><|user|>Hi<|end|><|assistant|>Hello!<|end|>

with `<|assistant|>` appended when a reply is to be generated. Role tokens and `<|end|>` are special
tokens, so they split the text: the token ids of a conversation are exactly the concatenation of each
piece encoded alone. `encode_chat` builds them that way, which gives the assistant-token mask for SFT
for free and keeps a user who types "<|end|>" from forging a turn (content never becomes a special token).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from chatrlhf.config import UserError

PAD = "<|pad|>"
EOS = "<|endoftext|>"  # separates documents in pretraining
END = "<|end|>"  # ends a conversation turn; the policy stops on it
ROLES = ("system", "user", "assistant")
ROLE_TOKENS = {role: f"<|{role}|>" for role in ROLES}
SPECIAL_TOKENS = [PAD, EOS, END, *ROLE_TOKENS.values()]

# The same rendering as `render_chat`, for `apply_chat_template` in transformers and other tools.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


class TokenizerError(UserError):
    """A tokenizer directory or a conversation that cannot be used."""


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `texts`; every byte is in the alphabet, so any text encodes."""
    tok = Tokenizer(models.BPE())
    # A space before the first word of every text and message, as inside a sentence: an answer's first word is
    # then the same token as anywhere else (" Sorry", not "S" + "orry"), which a small model learns far better.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return wrap(tok)


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """A transformers tokenizer around `tok` with our special tokens and chat template."""
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        eos_token=END,
        unk_token=None,
        bos_token=None,
        additional_special_tokens=[EOS, *ROLE_TOKENS.values()],
        chat_template=CHAT_TEMPLATE,
        padding_side="left",  # prompts are left-padded so every row's next token is at the same index
        model_max_length=1_000_000,
        clean_up_tokenization_spaces=False,
    )


def save_tokenizer(tok: PreTrainedTokenizerFast, out_dir: str | Path) -> None:
    tok.save_pretrained(str(out_dir))


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer directory (ours or any HF one that has our special tokens)."""
    path = Path(path)
    if not (path / "tokenizer.json").is_file():
        raise TokenizerError(f"{path}: no tokenizer.json here; expected a directory written by `chatrlhf tokenizer train`")
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
    except Exception as e:  # a corrupt file surfaces as many exception types
        raise TokenizerError(f"{path}: cannot load tokenizer: {e}") from None
    missing = [t for t in SPECIAL_TOKENS if tok.convert_tokens_to_ids(t) in (None, tok.unk_token_id)]
    if missing:
        raise TokenizerError(f"{path}: tokenizer lacks the special tokens {missing}; train one with `chatrlhf tokenizer train`")
    tok.padding_side = "left"
    return tok


def special_id(tok: PreTrainedTokenizerFast, token: str) -> int:
    return tok.convert_tokens_to_ids(token)


def check_messages(messages: Sequence[dict]) -> None:
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise TokenizerError(f"message {i}: expected {{'role': ..., 'content': ...}}, got {m!r}")
        if m["role"] not in ROLES:
            raise TokenizerError(f"message {i}: unknown role {m['role']!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(m["content"], str):
            raise TokenizerError(f"message {i}: content must be a string, got {type(m['content']).__name__}")


def render_chat(messages: Sequence[dict], add_generation_prompt: bool = False) -> str:
    """The conversation as text, identical to `tokenizer.apply_chat_template(..., tokenize=False)`."""
    check_messages(messages)
    text = "".join(f"{ROLE_TOKENS[m['role']]}{m['content']}{END}" for m in messages)
    return text + (ROLE_TOKENS["assistant"] if add_generation_prompt else "")


def encode_chat(
    tok: PreTrainedTokenizerFast, messages: Sequence[dict], add_generation_prompt: bool = False
) -> tuple[list[int], list[int]]:
    """Token ids of the rendered conversation and a 0/1 mask that is 1 on assistant tokens.

    The mask covers each assistant turn's content and its closing `<|end|>` (the model must learn to
    stop), not the `<|assistant|>` token that the prompt already supplies.
    """
    check_messages(messages)
    end = special_id(tok, END)
    ids: list[int] = []
    mask: list[int] = []
    contents = tok([m["content"] for m in messages], add_special_tokens=False, split_special_tokens=True)["input_ids"]
    for m, content in zip(messages, contents, strict=True):
        is_assistant = int(m["role"] == "assistant")
        ids += [special_id(tok, ROLE_TOKENS[m["role"]]), *content, end]
        mask += [0] + [is_assistant] * (len(content) + 1)
    if add_generation_prompt:
        ids.append(special_id(tok, ROLE_TOKENS["assistant"]))
        mask.append(0)
    return ids, mask


def stop_token_ids(tok: PreTrainedTokenizerFast) -> list[int]:
    """The tokens that end an answer: end of turn, and end of text for plain completions. RL ends a turn at
    `<|end|>` only (see `chatrlhf.train.rollout.generate`)."""
    return [tok.convert_tokens_to_ids(END), tok.convert_tokens_to_ids(EOS)]


def encode_text(tok: PreTrainedTokenizerFast, text: str) -> list[int]:
    """Plain text to ids, with special-token strings kept as text."""
    return tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def answer_text(tok: PreTrainedTokenizerFast, ids: Sequence[int]) -> str:
    """The text of a generated answer: its tokens decoded, without special tokens and without the space that
    the pre-tokenizer puts before the first word of every message."""
    return tok.decode(ids, skip_special_tokens=True).removeprefix(" ")


def shown_text(tok: PreTrainedTokenizerFast, ids: Sequence[int]) -> str:
    """The text of `ids` that can be shown while more tokens may follow. A byte-level token can end inside a
    multi-byte UTF-8 character (Japanese, emoji), which decodes to U+FFFD until its other bytes arrive, so a
    trailing U+FFFD is held back; once the answer is complete, `answer_text` gives all of it."""
    return answer_text(tok, ids).rstrip("\ufffd")

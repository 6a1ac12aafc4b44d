"""OpenAI-compatible request parsing and response bodies, shaped like vLLM 0.32's.

Pure functions: the HTTP server reads a body, asks this module what was requested, lets
the engine generate, and sends back what this module builds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from fleetdeck.hosts.sim_vllm.sample_text import count_tokens

CHAT = "chat"
COMPLETION = "completion"
DEFAULT_MAX_TOKENS = 16
# Tokens a chat template adds around each message, and once per conversation.
_TEMPLATE_TOKENS_PER_MESSAGE = 4
_TEMPLATE_TOKENS = 3


class ApiError(Exception):
    """An error answer, with the JSON body vLLM sends for it."""

    def __init__(self, status: int, message: str, error_type: str, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.param = param

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": str(self),
                "type": self.error_type,
                "param": self.param,
                "code": self.status,
            }
        }


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, "BadRequestError", param)


@dataclass(frozen=True)
class GenerationRequest:
    kind: str
    model: str
    prompt: str
    prompt_tokens: int
    max_tokens: int
    finish_reason: str
    stream: bool
    include_usage: bool
    request_id: str


def parse_generation(
    kind: str, raw: bytes, served_names: tuple[str, ...], max_model_len: int
) -> GenerationRequest:
    """Validate a /v1/completions or /v1/chat/completions body; raises ApiError."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"JSON decode error: {exc}") from exc
    if not isinstance(body, dict):
        raise bad_request("Input should be a valid dictionary or object")
    model = body.get("model") or served_names[0]
    if model not in served_names:
        raise ApiError(404, f"The model `{model}` does not exist.", "NotFoundError", "model")
    prompt, prompt_tokens = _chat_prompt(body) if kind == CHAT else _completion_prompt(body)
    requested = body.get("max_completion_tokens") if kind == CHAT else None
    if requested is None:
        requested = body.get("max_tokens")
    max_tokens = DEFAULT_MAX_TOKENS if requested is None else requested
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise bad_request(f"max_tokens must be at least 1, got {requested}.", "max_tokens")
    if prompt_tokens + max_tokens > max_model_len:
        raise bad_request(
            f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's "
            f"maximum context length is {max_model_len} tokens and your request has "
            f"{prompt_tokens} input tokens ({max_tokens} > {max_model_len} - {prompt_tokens}).",
            "max_tokens",
        )
    options = body.get("stream_options")
    prefix = "chatcmpl-" if kind == CHAT else "cmpl-"
    return GenerationRequest(
        kind=kind,
        model=model,
        prompt=prompt,
        prompt_tokens=prompt_tokens,
        max_tokens=max_tokens,
        # Without a limit a chat answer ends by itself; a completion always runs to length.
        finish_reason="stop" if kind == CHAT and requested is None else "length",
        stream=bool(body.get("stream")),
        include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
        request_id=prefix + uuid.uuid4().hex,
    )


def _chat_prompt(body: dict[str, Any]) -> tuple[str, int]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request(
            "messages: Field required"
            if messages is None
            else "messages: Input should be a non-empty list",
            "messages",
        )
    texts = []
    for message in messages:
        if not isinstance(message, dict):
            raise bad_request("messages: Input should be a valid dictionary", "messages")
        content = message.get("content") or ""
        if isinstance(content, list):
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        texts.append(f"{message.get('role', 'user')}: {content}")
    tokens = sum(count_tokens(text) for text in texts)
    return "\n".join(texts), tokens + _TEMPLATE_TOKENS + _TEMPLATE_TOKENS_PER_MESSAGE * len(texts)


def _completion_prompt(body: dict[str, Any]) -> tuple[str, int]:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if isinstance(prompt, str):
        return prompt, count_tokens(prompt)
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return " ".join(map(str, prompt)), len(prompt)
    raise bad_request("prompt: a string or a list of token ids is required", "prompt")


def usage(request: GenerationRequest, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": request.prompt_tokens,
        "total_tokens": request.prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_details": None,
    }


def full_response(
    request: GenerationRequest, text: str, completion_tokens: int, created: int
) -> dict[str, Any]:
    """The non-streamed answer."""
    if request.kind == CHAT:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": text,
                "refusal": None,
                "annotations": None,
                "audio": None,
                "function_call": None,
                "tool_calls": [],
                "reasoning_content": None,
            },
            "logprobs": None,
            "finish_reason": request.finish_reason,
            "stop_reason": None,
        }
        obj = "chat.completion"
    else:
        choice = {
            "index": 0,
            "text": text,
            "logprobs": None,
            "finish_reason": request.finish_reason,
            "stop_reason": None,
            "prompt_logprobs": None,
        }
        obj = "text_completion"
    return {
        "id": request.request_id,
        "object": obj,
        "created": created,
        "model": request.model,
        "choices": [choice],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": usage(request, completion_tokens),
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }


def stream_chunk(
    request: GenerationRequest, created: int, text: str | None, finish_reason: str | None = None
) -> dict[str, Any]:
    """One SSE chunk; for chat, `text=None` makes the opening `role` delta."""
    if request.kind == CHAT:
        delta = {"role": "assistant", "content": ""} if text is None else {"content": text}
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish_reason,
        }
        obj = "chat.completion.chunk"
    else:
        choice = {
            "index": 0,
            "text": text or "",
            "logprobs": None,
            "finish_reason": finish_reason,
            "stop_reason": None,
        }
        obj = "text_completion"
    if finish_reason is not None:
        choice["stop_reason"] = None
    return {
        "id": request.request_id,
        "object": obj,
        "created": created,
        "model": request.model,
        "choices": [choice],
    }


def usage_chunk(request: GenerationRequest, created: int, completion_tokens: int) -> dict[str, Any]:
    """The last chunk when `stream_options.include_usage` is set: no choices, only usage."""
    obj = "chat.completion.chunk" if request.kind == CHAT else "text_completion"
    return {
        "id": request.request_id,
        "object": obj,
        "created": created,
        "model": request.model,
        "choices": [],
        "usage": usage(request, completion_tokens),
    }


def models_list(
    served_names: tuple[str, ...], root: str, max_model_len: int, created: int
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {
                "id": name,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": root,
                "parent": None,
                "max_model_len": max_model_len,
                "permission": [
                    {
                        "id": f"modelperm-{uuid.uuid4().hex}",
                        "object": "model_permission",
                        "created": created,
                        "allow_create_engine": False,
                        "allow_sampling": True,
                        "allow_logprobs": True,
                        "allow_search_indices": False,
                        "allow_view": True,
                        "allow_fine_tuning": False,
                        "organization": "*",
                        "group": None,
                        "is_blocking": False,
                    }
                ],
            }
            for name in served_names
        ],
    }

"""The model catalogue, as data: (Poe bot name, owner, aliases).

The OpenAI-style id of each entry is its bot name in lower case; aliases are
extra ids that resolve to the same bot. Ids are matched case-insensitively.
Operators add private or custom bots with the CUSTOM_MODELS variable instead
of editing this file (see README, "Models").
"""

from __future__ import annotations

__all__ = ["CATALOGUE"]

# fmt: off
CATALOGUE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # OpenAI
    ("GPT-4o", "openai", ("gpt-4o-latest", "chatgpt-4o-latest")),
    ("GPT-4o-Mini", "openai", ()),
    ("GPT-4.1", "openai", ()),
    ("GPT-4.1-mini", "openai", ()),
    ("GPT-4.1-nano", "openai", ()),
    ("GPT-4-Turbo", "openai", ("gpt-4-turbo-preview",)),
    ("GPT-3.5-Turbo", "openai", ("gpt-3.5-turbo-0125",)),
    ("GPT-5", "openai", ()),
    ("GPT-5-mini", "openai", ()),
    ("GPT-5-nano", "openai", ()),
    ("GPT-5-Chat", "openai", ()),
    ("o1", "openai", ()),
    ("o1-mini", "openai", ()),
    ("o1-pro", "openai", ()),
    ("o3", "openai", ()),
    ("o3-mini", "openai", ()),
    ("o3-pro", "openai", ()),
    ("o4-mini", "openai", ()),
    ("DALL-E-3", "openai", ("dall-e-3", "dalle-3", "dalle3")),
    ("GPT-Image-1", "openai", ("gpt-image-1",)),
    # Anthropic
    ("Claude-3.5-Sonnet", "anthropic", ("claude-3-5-sonnet", "claude-3-5-sonnet-latest")),
    ("Claude-3.5-Haiku", "anthropic", ("claude-3-5-haiku", "claude-3-5-haiku-latest")),
    ("Claude-3-Opus", "anthropic", ("claude-3-opus-latest",)),
    ("Claude-3-Haiku", "anthropic", ()),
    ("Claude-3.7-Sonnet", "anthropic", ("claude-3-7-sonnet", "claude-3-7-sonnet-latest")),
    ("Claude-3.7-Sonnet-Reasoning", "anthropic", ()),
    ("Claude-Sonnet-4", "anthropic", ("claude-sonnet-4-0", "claude-4-sonnet")),
    ("Claude-Sonnet-4-Reasoning", "anthropic", ()),
    ("Claude-Opus-4", "anthropic", ("claude-opus-4-0", "claude-4-opus")),
    ("Claude-Opus-4.1", "anthropic", ("claude-opus-4-1",)),
    ("Claude-Sonnet-4.5", "anthropic", ("claude-sonnet-4-5",)),
    ("Claude-Haiku-4.5", "anthropic", ("claude-haiku-4-5",)),
    # Google
    ("Gemini-1.5-Pro", "google", ()),
    ("Gemini-1.5-Flash", "google", ()),
    ("Gemini-2.0-Flash", "google", ()),
    ("Gemini-2.0-Flash-Lite", "google", ()),
    ("Gemini-2.5-Pro", "google", ()),
    ("Gemini-2.5-Flash", "google", ()),
    ("Gemini-2.5-Flash-Lite", "google", ()),
    ("Imagen-3", "google", ()),
    ("Imagen-4", "google", ()),
    ("Veo-3", "google", ()),
    # Meta
    ("Llama-3.1-405B", "meta", ("llama-3.1-405b-instruct",)),
    ("Llama-3.1-70B", "meta", ("llama-3.1-70b-instruct",)),
    ("Llama-3.1-8B", "meta", ("llama-3.1-8b-instruct",)),
    ("Llama-3.3-70B", "meta", ("llama-3.3-70b-instruct",)),
    ("Llama-4-Maverick", "meta", ()),
    ("Llama-4-Scout", "meta", ()),
    # Alibaba
    ("Qwen-2.5-72B-T", "alibaba", ("qwen-2.5-72b", "qwen2.5-72b-instruct")),
    ("Qwen-2.5-Coder-32B-T", "alibaba", ("qwen-2.5-coder-32b", "qwen2.5-coder-32b-instruct")),
    ("Qwen3-235B-A22B", "alibaba", ("qwen3-235b",)),
    ("QwQ-32B-T", "alibaba", ("qwq-32b",)),
    # DeepSeek, Mistral, xAI
    ("DeepSeek-R1", "deepseek", ("deepseek-reasoner",)),
    ("DeepSeek-V3", "deepseek", ("deepseek-chat",)),
    ("Mistral-Large-2", "mistralai", ("mistral-large", "mistral-large-latest")),
    ("Mistral-Medium", "mistralai", ()),
    ("Grok-3", "xai", ()),
    ("Grok-4", "xai", ()),
    # Images and others
    ("StableDiffusionXL", "stabilityai", ("stable-diffusion-xl", "sdxl")),
    ("StableDiffusion3.5-L", "stabilityai", ("sd3.5-large",)),
    ("FLUX-pro", "bfl", ("flux-pro",)),
    ("FLUX-dev", "bfl", ("flux-dev",)),
    ("FLUX-schnell", "bfl", ("flux-schnell",)),
    ("Playground-v3", "playgroundai", ()),
    ("Assistant", "poe", ()),
    ("Web-Search", "poe", ()),
)
# fmt: on

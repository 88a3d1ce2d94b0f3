"""`--provider scripted`: a model that replays each task's `script` (its tool calls, then its answer), so the
harness itself can be checked without a real model: `make test` runs the shipped suite this way.

Usage is estimated like a real API would count it (about four characters a token of what was sent and what was
answered), so the token, cost and latency columns are exercised too. A script that runs out answers with an
error, and the try fails naming it.
"""

from __future__ import annotations

import json

from bot.errors import ModelRequestError
from bot.evals.tasks import Task
from integrations.llm.base import Message, ModelResponse, ToolSpec, Usage
from integrations.llm.scripted import ScriptedLLM, call, reply_text, reply_tools

MODEL = "scripted"


def scripted_llm(task: Task) -> ScriptedLLM:
    """A fresh scripted model for one try of `task`."""
    steps = list(task.script)

    def answer(messages: list[Message], tools: list[ToolSpec]) -> ModelResponse:
        if not steps:
            raise ModelRequestError(f"task {task.id}: the script has no response left for step {len(llm.requests)}")
        step = steps.pop(0)
        if step.tools:
            response = reply_tools(*(call(name, **args) for entry in step.tools for name, args in entry.items()), text=step.text)
        else:
            response = reply_text(step.text)
        sent = sum(len(json.dumps(m.model_dump(mode="json"))) for m in messages) + sum(len(t.description) + len(json.dumps(t.input_schema)) for t in tools)
        answered = len(json.dumps(response.message.model_dump(mode="json")))
        response.usage = Usage(input_tokens=sent // 4, output_tokens=max(1, answered // 4))
        response.model = MODEL
        return response

    llm = ScriptedLLM(fn=answer)
    return llm

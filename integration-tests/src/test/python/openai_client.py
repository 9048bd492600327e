"""Drives the official OpenAI Python SDK through Envoy with a perishable token as its key.

Usage: OPENAI_API_KEY=prs_... python openai_client.py http://127.0.0.1:10000/v1
Prints one JSON line with what the SDK got back.
"""
import json
import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, max_retries=0, timeout=30)

chat = client.chat.completions.create(
    model="gpt-4o-mini",
    max_tokens=32,
    messages=[{"role": "user", "content": "say hello"}],
)

streamed = []
for chunk in client.chat.completions.create(
    model="gpt-4o-mini",
    max_tokens=32,
    stream=True,
    messages=[{"role": "user", "content": "say hello"}],
):
    if chunk.choices and chunk.choices[0].delta.content:
        streamed.append(chunk.choices[0].delta.content)

denied_status, denied_code = None, None
try:
    client.chat.completions.create(
        model="gpt-4o", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
    )
except openai.PermissionDeniedError as e:
    denied_status, denied_code = e.status_code, e.code

print(json.dumps({
    "chat": chat.choices[0].message.content,
    "stream": "".join(streamed),
    "denied_status": denied_status,
    "denied_code": denied_code,
}))

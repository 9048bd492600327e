"""An agent that never holds a provider key.

It asks the perishable control plane for a short-lived token, calls the LLM through Envoy with
the official OpenAI SDK (the token is the API key), mints a narrower child token for a
sub-agent, and refreshes its token before it expires.

Generate the gRPC stubs first (from the repository root):

    python -m grpc_tools.protoc -I proto/src/main/proto --python_out=examples/python/gen \\
        --grpc_python_out=examples/python/gen \\
        perishable/v1/token.proto perishable/v1/token_service.proto

Run against `./bin/stack`:

    python examples/python/agent.py --issuer-secret-file .data/stack/issuer-secret

It prints one JSON line describing what happened.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
import openai  # noqa: E402
from google.protobuf import duration_pb2  # noqa: E402
from perishable.v1 import token_service_pb2 as ts  # noqa: E402
from perishable.v1 import token_service_pb2_grpc as ts_grpc  # noqa: E402


class TokenSource:
    """Hands out a token, minting a new one when the current one is about to expire.

    `issue` is a callable returning an IssueResponse; `clock` returns seconds since the epoch.
    """

    def __init__(self, issue, refresh_before_seconds, clock=time.time):
        self._issue = issue
        self._refresh_before = refresh_before_seconds
        self._clock = clock
        self._current = None

    def needs_refresh(self):
        if self._current is None:
            return True
        expires = self._current.expires_at.seconds + self._current.expires_at.nanos / 1e9
        return self._clock() >= expires - self._refresh_before

    def response(self):
        if self.needs_refresh():
            self._current = self._issue()
        return self._current

    def token(self):
        return self.response().token


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control-plane", default="127.0.0.1:7400")
    parser.add_argument("--envoy", default="http://127.0.0.1:10000/v1")
    parser.add_argument("--issuer-secret-file", required=True)
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args()

    with open(args.issuer_secret_file, encoding="utf-8") as f:
        issuer_secret = f.read().strip()
    stub = ts_grpc.TokenServiceStub(grpc.insecure_channel(args.control_plane))

    def issue_root():
        return stub.Issue(
            ts.IssueRequest(
                agent_id="py-agent",
                scopes=["llm:complete"],
                models=[args.model],
                max_tokens_per_request=256,
                ttl=duration_pb2.Duration(seconds=60),
                labels={"example": "python"},
            ),
            metadata=[("authorization", "Bearer " + issuer_secret)],
            timeout=10,
        )

    # Refresh when less than 20 seconds are left.
    tokens = TokenSource(issue_root, refresh_before_seconds=20)
    llm = openai.OpenAI(base_url=args.envoy, api_key=tokens.token(), max_retries=0)

    answer = llm.chat.completions.create(
        model=args.model, max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    ).choices[0].message.content

    # A sub-agent gets a narrower child: fewer tokens per request, shorter life. No issuer
    # secret: the parent token is the credential.
    child = stub.Issue(
        ts.IssueRequest(
            agent_id="py-agent/summarizer",
            scopes=["llm:complete"],
            models=[args.model],
            max_tokens_per_request=16,
            ttl=duration_pb2.Duration(seconds=30),
            parent_token=tokens.token(),
        ),
        timeout=10,
    )
    sub_llm = openai.OpenAI(base_url=args.envoy, api_key=child.token, max_retries=0)
    sub_answer = sub_llm.chat.completions.create(
        model=args.model, max_tokens=16, messages=[{"role": "user", "content": "summarize"}]
    ).choices[0].message.content
    try:
        sub_llm.chat.completions.create(
            model=args.model, max_tokens=200, messages=[{"role": "user", "content": "more"}]
        )
        child_over_limit = "allowed"
    except openai.PermissionDeniedError as e:
        child_over_limit = e.code

    # Asking the parent for more than it has is refused, naming what.
    try:
        stub.Issue(
            ts.IssueRequest(agent_id="py-agent/greedy", scopes=["llm:complete"],
                            models=["gpt-4o"], parent_token=tokens.token()),
            timeout=10,
        )
        greedy = "allowed"
    except grpc.RpcError as e:
        greedy = e.code().name

    # Refresh before expiry: pretend 45 seconds passed; the source mints a new token.
    first_id = tokens.response().token_id
    tokens._clock = lambda: time.time() + 45
    refreshed_id = tokens.response().token_id
    llm.api_key = tokens.token()
    after_refresh = llm.chat.completions.create(
        model=args.model, max_tokens=8, messages=[{"role": "user", "content": "again"}]
    ).choices[0].message.content

    print(json.dumps({
        "answer": answer,
        "child_token_id": child.token_id,
        "sub_answer": sub_answer,
        "child_over_limit": child_over_limit,
        "greedy_child": greedy,
        "refreshed": first_id != refreshed_id,
        "after_refresh": after_refresh,
    }))


if __name__ == "__main__":
    main()

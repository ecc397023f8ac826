"""The baseline: /bik-customer written the way the Bolt quickstart teaches.

A sync ``App`` (listeners in Bolt's default 5-thread pool), ``ack()`` then one ``requests.post``
per lookup and ``respond()`` through ``response_url``, served by gunicorn (sync workers) through
Bolt's WSGI adapter. Same upstream, same card text, so the benchmark compares only the plumbing.

    gunicorn -w 1 -b 127.0.0.1:3001 bench.baseline.app:api
"""

from __future__ import annotations

import os

import requests
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

BIK_URL = os.environ["BIK_API_BASE_URL"].rstrip("/") + "/bikPlatformFunctions-customers/get"

app = App(
    token=os.environ["SLACK_BOT_TOKEN"],
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    token_verification_enabled=False,
)


@app.command("/bik-customer")
def bik_customer(ack, respond, command):  # type: ignore[no-untyped-def]
    ack()
    response = requests.post(
        BIK_URL,
        json={"partnerCustomerId": command["text"].strip(), "includeAssets": True, "includeAddress": True},
        headers={"Authorization": "Basic " + os.environ["BIK_API_TOKEN"]},
        timeout=15,
    )
    customer = response.json()["data"]["customer"]
    name = f"{customer.get('firstName', '')} {customer.get('lastName', '')}"
    respond(
        text=f"BIK customer: {name}",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": name}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Phone*\n{customer.get('phoneNumber')}"},
            },
        ],
    )


api = SlackRequestHandler(app)

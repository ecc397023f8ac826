"""Socket Mode, against a real process: SLACK_APP_TOKEN set, every Web API call (apps.connections.open
included) goes to SLACK_API_URL, and commands arrive as envelopes over a WebSocket."""

from __future__ import annotations

from tests.fakes.botserver import wait_for
from tests.fakes.process import BotProcess, stand_in_env


def test_socket_mode_answers_a_command_in_the_envelope_ack(bik, slack, tmp_path):
    env = stand_in_env(bik, slack, tmp_path, SLACK_APP_TOKEN="xapp-1-test-token-0000")
    process = BotProcess(env, cwd=tmp_path)
    try:
        process.launch()
        wait_for(lambda: slack.sockets, timeout=20)
        opened = slack.method_calls("apps.connections.open")
        assert opened, "apps.connections.open must go to SLACK_API_URL"
        payload = {
            "team_id": "T1",
            "channel_id": "CALLOWED",
            "channel_name": "support",
            "user_id": "U1",
            "command": "/bik-customer",
            "text": "abcd-122345",
            "response_url": slack.new_hook(),
            "trigger_id": "1.2.3",
            "api_app_id": "A1",
        }
        envelope = slack.send_envelope("slash_commands", payload)
        ack = wait_for(lambda: slack.ack_for(envelope), timeout=10)
        assert ack["payload"]["blocks"][0]["text"]["text"] == "Test Last"
        denied = slack.send_envelope("slash_commands", {**payload, "channel_id": "CNOPE"})
        assert "isn't allowed" in wait_for(lambda: slack.ack_for(denied), timeout=10)["payload"]["text"]
        assert bik.count() == 1
        assert process.terminate() == 0, process.logs()
    finally:
        process.kill()  # whatever failed above, no process outlives the test
    assert '"mode": "socket"' in process.logs()

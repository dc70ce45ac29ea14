"""One app process serving chats: `python chat_worker.py DATABASE_URL HOME FIRST COUNT` prints JSON results.

Each of COUNT conversations (numbered from FIRST) runs on its own thread of this process, as the UI's
handlers do: a recommendation, then "and the second one?" on the same conversation thread.
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from whichmodel.config import Settings
from whichmodel.ui.app import App

SIZES = ["7B", "8B", "13B", "3B", "2B", "1B", "70B"]
SORTS = ["security", "popularity", "quality", "overall"]


def conversation(app: App, n: int) -> dict:
    question = f"best {SIZES[n % len(SIZES)]} model by {SORTS[n % len(SORTS)]}"
    history, thread = [], None
    for history, _, thread in app.respond(question, [], None):
        pass
    first = history[-1].content
    for history, _, _ in app.respond("and the second one?", history, thread):
        pass
    return {"n": n, "thread": thread, "question": question, "first": first, "second": history[-1].content}


if __name__ == "__main__":
    url, home, first, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    app = App(Settings(home=home, database_url=url, hf_endpoint="http://127.0.0.1:9"))
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(lambda n: conversation(app, n), range(first, first + count)))
    print(json.dumps(results))

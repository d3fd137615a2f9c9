"""Time to judge one text under the default policy at 1,000, 10,000 and 100,000 characters (and ten
10,000-character texts in one call), against a 1,000-character text in the same run: analysis time
grows with characters, which is why a request's texts are limited together (README, "Security and
limits").

    PYTHONPATH=src python bench/long_texts.py
"""
import time, random, os, tempfile
os.environ["TAMIS_DATA_DIR"] = tempfile.mkdtemp()
from tamis.services.moderation import judge
from tamis.engine.policy import Policy, default_body
from tamis.schema import Item
from tamis.analyzers import get_analyzer
policy = Policy("default", 0, default_body())
random.seed(0)
words = "the quick brown fox jumps over lazy dog you are an idiot hello world http://example.com/x some more words here".split()
def text(n): 
    t = " ".join(random.choice(words) for _ in range(n // 4)); return t[:n]
for _ in range(2):
    judge("p", policy, [Item("w", text=text(2000))])  # warm-up: models loaded, caches filled
for n in (1000, 10_000, 100_000):
    t0 = time.perf_counter(); doc = judge("p", policy, [Item("a", text=text(n))]); el = time.perf_counter() - t0
    print(f"{n:>7,} characters: {el:6.2f} s", [(a.name, round(a.ms)) for a in doc.results[0].analyzers])
t0 = time.perf_counter(); judge("p", policy, [Item(str(i), text=text(10_000)) for i in range(10)]); print(f"10 x 10,000 characters in one call: {time.perf_counter()-t0:.2f} s")

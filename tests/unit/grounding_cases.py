"""A labelled set for the grounding judge: 240 cases of supported and unsupported answers, partial support,
changed numbers and entities, refusals, and answers over failed tool results. Deterministic (seeded)."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

from agentwatch.evaluators._model import Answer, Source

CITIES = ["Rotterdam", "Denver", "Osaka", "Lyon", "Austin", "Gdansk", "Porto", "Calgary", "Nairobi", "Leeds"]
PRODUCTS = ["Aurora Lamp", "Nimbus Kettle", "Vega Backpack", "Orion Headphones", "Atlas Desk", "Zephyr Fan"]
PLANS = ["Starter", "Growth", "Enterprise", "Team"]
CARRIERS = ["FedEx", "DHL", "UPS", "PostNL"]


@dataclass
class Case:
    kind: str
    ungrounded: bool
    answer: Answer


def _answer(query: str, text: str, sources: list[Source]) -> Answer:
    return Answer(
        trace_id="t", span_id="s", timestamp=dt.datetime(2026, 1, 1), query=query, answer=text, sources=sources
    )


def _facts(rnd: random.Random) -> dict:
    return {
        "order": f"A-{rnd.randint(1000, 9999)}",
        "city": rnd.choice(CITIES),
        "days": rnd.randint(2, 9),
        "carrier": rnd.choice(CARRIERS),
        "product": rnd.choice(PRODUCTS),
        "price": f"{rnd.randint(15, 400)}.99",
        "stock": rnd.randint(3, 250),
        "window": rnd.choice([14, 30, 45, 60]),
        "plan": rnd.choice(PLANS),
        "balance": f"{rnd.randint(10, 900)}.{rnd.randint(10, 99)}",
    }


def _other(rnd: random.Random, pool: list, current) -> object:
    return rnd.choice([p for p in pool if p != current])


def build_cases(seed: int = 11) -> list[Case]:
    rnd = random.Random(seed)
    cases: list[Case] = []
    for i in range(30):
        f = _facts(rnd)
        order_doc = Source(
            "tool",
            "get_order",
            json.dumps(
                {
                    "order_id": f["order"],
                    "status": "shipped",
                    "carrier": f["carrier"],
                    "warehouse": f["city"],
                    "eta_days": f["days"],
                }
            ),
        )
        product_doc = Source(
            "tool", "get_product", json.dumps({"name": f["product"], "price_usd": f["price"], "in_stock": f["stock"]})
        )
        policy_doc = Source(
            "document",
            "returns-policy",
            f"Items can be returned within {f['window']} days of "
            f"delivery for a full refund. Refunds are issued to the "
            f"original payment method.",
        )
        account_doc = Source("tool", "get_account", json.dumps({"plan": f["plan"], "balance_usd": f["balance"]}))
        template = i % 4
        if template == 0:
            query, sources = f"Where is my order {f['order']}?", [order_doc]
            good = (
                f"Your order {f['order']} has shipped with {f['carrier']} from our {f['city']} warehouse and "
                f"should arrive in {f['days']} days."
            )
            bad_number = good.replace(f"in {f['days']} days", f"in {f['days'] + 3} days")
            bad_entity = good.replace(f["city"], str(_other(rnd, CITIES, f["city"])))
            partial = (
                f"Your order {f['order']} has shipped with {f['carrier']}. It is insured for ${rnd.randint(50, 500)}."
            )
        elif template == 1:
            query, sources = f"How much does the {f['product']} cost and is it in stock?", [product_doc]
            good = f"The {f['product']} costs ${f['price']} and {f['stock']} units are in stock."
            bad_number = good.replace(f"${f['price']}", f"${int(float(f['price'])) + 20}.99")
            bad_entity = good.replace(f["product"], str(_other(rnd, PRODUCTS, f["product"])))
            partial = f"The {f['product']} costs ${f['price']} and ships free to Canada within 48 hours."
        elif template == 2:
            query, sources = "How long do I have to return an item?", [policy_doc]
            good = (
                f"You can return items within {f['window']} days of delivery for a full refund to your original "
                f"payment method."
            )
            bad_number = good.replace(f"{f['window']} days", f"{f['window'] + 15} days")
            bad_entity = good + " Refunds are handled by Klarna."
            partial = f"You can return items within {f['window']} days. A restocking fee of 15% applies."
        else:
            query, sources = "What plan am I on and what is my balance?", [account_doc]
            good = f"You are on the {f['plan']} plan and your balance is ${f['balance']}."
            bad_number = good.replace(f"${f['balance']}", f"${int(float(f['balance'])) + 100}.00")
            bad_entity = good.replace(f["plan"], str(_other(rnd, PLANS, f["plan"])))
            partial = f"You are on the {f['plan']} plan, which renews on March 3."
        failed_source = Source("tool", sources[0].name, json.dumps({"error": "upstream timeout"}), failed=True)
        empty_source = Source("tool", sources[0].name, json.dumps({"results": [], "total": 0}))
        filler = good + " Let me know if there is anything else I can help with!"
        refusal = rnd.choice(
            [
                "I could not find any information about that right now; the lookup failed. Please try again later.",
                "I'm not sure — the search returned no results for that, so I can't confirm it.",
                "I was unable to retrieve your details because the tool returned an error.",
            ]
        )
        cases += [
            Case("supported", False, _answer(query, good, sources)),
            Case("supported_with_filler", False, _answer(query, filler, sources)),
            Case("number_changed", True, _answer(query, bad_number, sources)),
            Case("entity_changed", True, _answer(query, bad_entity, sources)),
            Case("partial_support", True, _answer(query, partial, sources)),
            Case("refusal_over_failure", False, _answer(query, refusal, [failed_source])),
            Case("confident_over_failed_tool", True, _answer(query, good, [failed_source])),
            Case("fabricated_over_empty_results", True, _answer(query, good, [empty_source])),
        ]
    return cases

"""A built-in task: seeded arithmetic word problems with exact integer answers.

It gives every install a dataset to run the loop on without any download, at difficulty levels 1–3
(the number of operations). Every problem comes with a gold step-by-step rationale whose last line is
`Answer: N`; answers are never negative and divisions never leave a remainder.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.importing.model import ParsedExample

LEVELS = (1, 2, 3)

PEOPLE = [
    ("Maya", "she", "her"), ("Liam", "he", "his"), ("Aisha", "she", "her"), ("Noah", "he", "his"),
    ("Sofia", "she", "her"), ("Kenji", "he", "his"), ("Elena", "she", "her"), ("Omar", "he", "his"),
    ("Priya", "she", "her"), ("Lucas", "he", "his"), ("Chloe", "she", "her"), ("Mateo", "he", "his"),
    ("Zara", "she", "her"), ("Ivan", "he", "his"), ("Grace", "she", "her"), ("Tariq", "he", "his"),
    ("Nia", "she", "her"), ("Felix", "he", "his"), ("Hana", "she", "her"), ("Diego", "he", "his"),
]
FRIENDS = ["Sam", "Alex", "Jordan", "Robin", "Kim", "Charlie", "Taylor", "Jamie"]
ITEMS = ["stickers", "marbles", "cards", "shells", "stamps", "beads", "coins", "badges", "pencils"]
FRUIT = ["apples", "oranges", "pears", "plums", "lemons", "peaches"]
# (singular, plural, lowest price, highest price)
GOODS = [("notebook", "notebooks", 2, 9), ("sandwich", "sandwiches", 3, 12),
         ("toy car", "toy cars", 4, 15), ("ticket", "tickets", 5, 20), ("book", "books", 6, 25),
         ("plant", "plants", 3, 14), ("scarf", "scarves", 7, 30), ("mug", "mugs", 4, 11)]
BAKES = ["cookies", "muffins", "cupcakes", "rolls", "brownies"]
PLANTS = ["tomato plants", "rose bushes", "tulips", "carrots", "sunflowers"]


@dataclass
class Work:
    """Draws numbers and records each operation as a rationale step while computing it."""

    rng: random.Random
    steps: list[str] = field(default_factory=list)
    _results: list[int] = field(default_factory=list)

    def num(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def pick(self, options: Sequence):
        return self.rng.choice(options)

    def add(self, a: int, b: int, what: str) -> int:
        return self._step(a, "+", b, a + b, what)

    def sub(self, a: int, b: int, what: str) -> int:
        if b > a:
            raise ValueError(f"{a} - {b} would be negative")
        return self._step(a, "-", b, a - b, what)

    def mul(self, a: int, b: int, what: str) -> int:
        return self._step(a, "*", b, a * b, what)

    def div(self, a: int, b: int, what: str) -> int:
        if b == 0 or a % b:
            raise ValueError(f"{a} / {b} leaves a remainder")
        return self._step(a, "/", b, a // b, what)

    @property
    def result(self) -> int:
        """The value of the last step: the problem's answer once the template is done."""
        return self._results[-1]

    def _step(self, a: int, op: str, b: int, result: int, what: str) -> int:
        self.steps.append(f"{what}: {a} {op} {b} = {result}.")
        self._results.append(result)
        return result


# Each template draws its numbers, records its steps in `w` and returns the question text.
# p = (name, subject pronoun, possessive pronoun).


def gift(w: Work, p) -> str:
    a, b, item = w.num(3, 60), w.num(2, 40), w.pick(ITEMS)
    w.add(a, b, f"{item.capitalize()} {p[0]} has now")
    return (
        f"{p[0]} has {a} {item}. {w.pick(FRIENDS)} gives {p[2]} {b} more. "
        f"How many {item} does {p[0]} have now?"
    )


def give_away(w: Work, p) -> str:
    a, item = w.num(10, 90), w.pick(ITEMS)
    b = w.num(1, a)
    w.sub(a, b, f"{item.capitalize()} left")
    return (
        f"{p[0]} had {a} {item} and gave {b} of them to {w.pick(FRIENDS)}. "
        f"How many {item} does {p[0]} have left?"
    )


def packs(w: Work, p) -> str:
    a, b, item = w.num(2, 12), w.num(3, 15), w.pick(ITEMS)
    w.mul(a, b, f"{item.capitalize()} in all the packs")
    return (
        f"{p[0]} buys {a} packs of {item}. Each pack holds {b} {item}. "
        f"How many {item} did {p[1]} buy?"
    )


def share(w: Work, p) -> str:
    k, each, fruit = w.num(2, 9), w.num(2, 15), w.pick(FRUIT)
    w.div(k * each, k, f"{fruit.capitalize()} per friend")
    return (
        f"{p[0]} shares {k * each} {fruit} equally among {k} friends. "
        f"How many {fruit} does each friend get?"
    )


def unit_price(w: Work, p) -> str:
    good, goods, lo, hi = w.pick(GOODS)
    price, k = w.num(lo, hi), w.num(2, 9)
    w.mul(k, price, f"Cost of {k} {goods} in dollars")
    return f"A {good} costs ${price}. How many dollars does {p[0]} pay for {k} {goods}?"


def pages_left(w: Work, p) -> str:
    total = w.num(80, 400)
    read = w.num(10, total)
    w.sub(total, read, "Pages left")
    return (
        f"A book has {total} pages. {p[0]} has read {read} pages. "
        f"How many pages does {p[1]} still have to read?"
    )


def drive(w: Work, p) -> str:
    speed, hours = w.num(30, 90), w.num(2, 6)
    w.mul(speed, hours, "Distance in km")
    return (
        f"{p[0]} drives at {speed} km per hour for {hours} hours. "
        f"How many kilometres does {p[1]} drive?"
    )


def tree_rows(w: Work, p) -> str:
    per_row, rows, plant = w.num(3, 12), w.num(2, 12), w.pick(PLANTS)
    w.div(per_row * rows, per_row, "Number of rows")
    return (
        f"{p[0]} plants {per_row * rows} {plant} in rows of {per_row}. "
        f"How many rows does {p[1]} plant?"
    )


def savings(w: Work, p) -> str:
    a, b = w.num(5, 120), w.num(5, 120)
    w.add(a, b, "Dollars saved")
    return (
        f"{p[0]} saved ${a} in March and ${b} in April. "
        f"How many dollars did {p[1]} save in the two months?"
    )


def buy_more_packs(w: Work, p) -> str:
    have, n, per, item = w.num(2, 40), w.num(2, 8), w.num(3, 12), w.pick(ITEMS)
    bought = w.mul(n, per, f"{item.capitalize()} bought")
    w.add(have, bought, f"{item.capitalize()} in total")
    return (
        f"{p[0]} has {have} {item}. {p[1].capitalize()} buys {n} packs with {per} {item} in each. "
        f"How many {item} does {p[0]} have now?"
    )


def wages_spent(w: Work, p) -> str:
    rate, hours = w.num(8, 25), w.num(2, 8)
    spent = w.num(1, rate * hours)
    earned = w.mul(rate, hours, "Dollars earned")
    w.sub(earned, spent, "Dollars left")
    return (
        f"{p[0]} earns ${rate} an hour and works {hours} hours. {p[1].capitalize()} spends ${spent} "
        f"on lunch and books. How many dollars does {p[1]} have left?"
    )


def pool_and_share(w: Work, p) -> str:
    k, each, fruit = w.num(2, 6), w.num(2, 12), w.pick(FRUIT)
    a = w.num(1, k * each - 1)
    total = w.add(a, k * each - a, f"{fruit.capitalize()} together")
    w.div(total, k, f"{fruit.capitalize()} per basket")
    return (
        f"{p[0]} picks {a} {fruit} and {w.pick(FRIENDS)} picks {k * each - a}. They put them into "
        f"{k} baskets with the same number in each. How many {fruit} go in each basket?"
    )


def bake_give(w: Work, p) -> str:
    trays, per, bake = w.num(2, 6), w.num(6, 18), w.pick(BAKES)
    given = w.num(1, trays * per)
    baked = w.mul(trays, per, f"{bake.capitalize()} baked")
    w.sub(baked, given, f"{bake.capitalize()} left")
    return (
        f"{p[0]} bakes {trays} trays of {bake} with {per} on each tray and gives {given} to the "
        f"neighbours. How many {bake} are left?"
    )


def reading_plan(w: Work, p) -> str:
    per_day, days = w.num(5, 30), w.num(2, 7)
    total = per_day * days + w.num(0, 150)
    read = w.mul(per_day, days, "Pages read")
    w.sub(total, read, "Pages left")
    return (
        f"A novel has {total} pages. {p[0]} reads {per_day} pages a day for {days} days. "
        f"How many pages are left?"
    )


def class_pencils(w: Work, p) -> str:
    students, each = w.num(5, 30), w.num(2, 4)
    stock = students * each + w.num(0, 60)
    given = w.mul(students, each, "Pencils handed out")
    w.sub(stock, given, "Pencils left")
    return (
        f"{p[0]} has {stock} pencils for a class of {students} students. Each student gets {each} "
        f"pencils. How many pencils does {p[0]} have left?"
    )


def two_leg_trip(w: Work, p) -> str:
    speed, hours, extra = w.num(40, 90), w.num(2, 5), w.num(5, 60)
    first = w.mul(speed, hours, "Km on the highway")
    w.add(first, extra, "Km in total")
    return (
        f"{p[0]} drives {hours} hours on the highway at {speed} km per hour and then {extra} km "
        f"on country roads. How many kilometres does {p[1]} drive in all?"
    )


def split_bill(w: Work, p) -> str:
    people, each = w.num(2, 6), w.num(8, 30)
    tip = w.num(2, people * each // 4)
    meal = people * each - tip
    total = w.add(meal, tip, "Bill with tip")
    w.div(total, people, "Dollars per person")
    return (
        f"{p[0]} and friends, {people} people in all, eat a meal that costs ${meal} and leave a ${tip} "
        f"tip. They split the total equally. How many dollars does each person pay?"
    )


def change_back(w: Work, p) -> str:
    _, goods, lo, hi = w.pick(GOODS)
    price, k = w.num(lo, hi), w.num(2, 5)
    bill = w.pick([b for b in (20, 50, 100, 200) if b >= price * k][:2])
    cost = w.mul(k, price, f"Cost of the {goods}")
    w.sub(bill, cost, "Change in dollars")
    return (
        f"{p[0]} buys {k} {goods} at ${price} each and pays with a ${bill} bill. "
        f"How many dollars of change does {p[1]} get?"
    )


def two_goods(w: Work, p) -> str:
    (_, g1, lo1, hi1), (_, g2, lo2, hi2) = w.rng.sample(GOODS, 2)
    a, pa, b, pb = w.num(2, 6), w.num(lo1, hi1), w.num(2, 6), w.num(lo2, hi2)
    first = w.mul(a, pa, f"Cost of the {g1}")
    second = w.mul(b, pb, f"Cost of the {g2}")
    w.add(first, second, "Total cost in dollars")
    return (
        f"{p[0]} buys {a} {g1} at ${pa} each and {b} {g2} at ${pb} each. "
        f"How many dollars does {p[1]} spend?"
    )


def save_spend_share(w: Work, p) -> str:
    weekly, weeks, k = w.num(5, 30), w.num(3, 10), w.num(2, 5)
    saved_total = weekly * weeks
    rest = k * w.num(1, saved_total // k)
    saved = w.mul(weekly, weeks, "Dollars saved")
    left = w.sub(saved, saved_total - rest, "Dollars left after the gift")
    w.div(left, k, "Dollars per charity")
    return (f"{p[0]} saves ${weekly} a week for {weeks} weeks. {p[1].capitalize()} spends "
            f"${saved_total - rest} on a gift and gives the rest equally to {k} charities. "
            f"How many dollars does each charity get?")


def bake_bag(w: Work, p) -> str:
    trays, per, bag, bake = w.num(2, 6), w.num(6, 16), w.num(2, 6), w.pick(BAKES)
    baked_total = trays * per
    eaten = baked_total - bag * w.num(1, baked_total // bag)
    baked = w.mul(trays, per, f"{bake.capitalize()} baked")
    left = w.sub(baked, eaten, f"{bake.capitalize()} after eating some")
    w.div(left, bag, "Bags filled")
    return (
        f"{p[0]} bakes {trays} trays of {per} {bake}. The family eats {eaten}, and {p[1]} packs the "
        f"rest into bags of {bag}. How many bags does {p[1]} fill?"
    )


def farm_legs(w: Work, p) -> str:
    cows, hens = w.num(2, 20), w.num(2, 30)
    cow_legs = w.mul(cows, 4, "Cow legs")
    hen_legs = w.mul(hens, 2, "Chicken legs")
    w.add(cow_legs, hen_legs, "Legs in total")
    return (
        f"{p[0]}'s farm has {cows} cows and {hens} chickens. "
        f"How many legs do the animals have in total?"
    )


def weekend_reading(w: Work, p) -> str:
    per_day, days, weekend = w.num(5, 25), w.num(2, 5), w.num(5, 40)
    book = per_day * days + weekend + w.num(0, 120)
    weekday = w.mul(per_day, days, "Pages on weekdays")
    read = w.add(weekday, weekend, "Pages read so far")
    w.sub(book, read, "Pages left")
    return (
        f"A book has {book} pages. {p[0]} reads {per_day} pages a day for {days} days and {weekend} "
        f"pages at the weekend. How many pages are left?"
    )


def fundraiser(w: Work, p) -> str:
    tickets, price, k = w.num(10, 60), w.num(2, 8), w.num(2, 6)
    income_total = tickets * price
    costs = income_total - k * w.num(1, income_total // k)
    income = w.mul(tickets, price, "Ticket money")
    profit = w.sub(income, costs, "Profit")
    w.div(profit, k, "Dollars per club")
    return (
        f"{p[0]}'s class sells {tickets} raffle tickets at ${price} each. Prizes cost ${costs}. "
        f"The profit is split equally among {k} clubs. How many dollars does each club get?"
    )


def garden_rows(w: Work, p) -> str:
    rows, per, plant = w.num(2, 9), w.num(3, 12), w.pick(PLANTS)
    eaten, new = w.num(1, rows * per), w.num(1, 20)
    grown = w.mul(rows, per, f"{plant.capitalize()} planted")
    left = w.sub(grown, eaten, f"{plant.capitalize()} the rabbits left")
    w.add(left, new, f"{plant.capitalize()} now")
    return (
        f"{p[0]} plants {rows} rows of {per} {plant}. Rabbits eat {eaten} of them, so {p[1]} plants "
        f"{new} new ones. How many {plant} are in the garden now?"
    )


def road_trip(w: Work, p) -> str:
    s1, h1, s2, h2 = w.num(50, 100), w.num(1, 4), w.num(20, 60), w.num(1, 3)
    first = w.mul(s1, h1, "Km on the motorway")
    second = w.mul(s2, h2, "Km in the hills")
    w.add(first, second, "Km in total")
    return (
        f"{p[0]} drives {h1} hours at {s1} km per hour on the motorway, then {h2} hours at {s2} km "
        f"per hour in the hills. How many kilometres does {p[1]} drive?"
    )


def marker_boxes(w: Work, p) -> str:
    boxes, per, students = w.num(2, 8), w.num(6, 12), w.num(2, 10)
    total = boxes * per
    kept = total - students * w.num(1, total // students)
    bought = w.mul(boxes, per, "Markers bought")
    rest = w.sub(bought, kept, "Markers to hand out")
    w.div(rest, students, "Markers per student")
    return (
        f"{p[0]} buys {boxes} boxes of {per} markers, keeps {kept} and shares the rest equally "
        f"among {students} students. How many markers does each student get?"
    )


TEMPLATES: dict[int, list[Callable[[Work, tuple], str]]] = {
    1: [gift, give_away, packs, share, unit_price, pages_left, drive, tree_rows, savings],
    2: [buy_more_packs, wages_spent, pool_and_share, bake_give, reading_plan, class_pencils,
        two_leg_trip, split_bill, change_back],
    3: [two_goods, save_spend_share, bake_bag, farm_legs, weekend_reading, fundraiser, garden_rows,
        road_trip, marker_boxes],
}


def generate_problems(n: int, level: int | Sequence[int], seed: int) -> list[ParsedExample]:
    """`n` problems, levels taken in turn from `level`; the same seed always gives the same problems.

    Every example starts in the "train" split; the caller assigns splits.
    """
    levels = [level] if isinstance(level, int) else list(level)
    if not levels or any(x not in LEVELS for x in levels):
        raise ValueError(f"levels must be among {LEVELS}, got {levels}")
    return [make_problem(levels[i % len(levels)], seed, i) for i in range(n)]


def make_problem(level: int, seed: int, index: int) -> ParsedExample:
    """Problem number `index` at `level`; independent of how many others are generated."""
    rng = random.Random(f"arith:{level}:{seed}:{index}")
    template = rng.choice(TEMPLATES[level])
    person = rng.choice(PEOPLE)
    work = Work(rng)
    question = template(work, person)
    answer = str(work.result)
    rationale = "\n".join(work.steps + [f"Answer: {answer}"])
    return ParsedExample(
        ext_id=f"arith-L{level}-{seed}-{index}",
        split="train",
        question=question,
        answer=answer,
        answer_raw=answer,
        rationale=rationale,
        category=f"arith-L{level}-{template.__name__}",
        position=index + 1,
    )

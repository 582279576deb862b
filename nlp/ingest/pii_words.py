"""Word lists of the name rules (pii_names.py): English words that are common given names,
words a name stands before, particles inside names."""

# English words that are also common given names: a capitalised one is a name in context.
WORD_NAMES = frozenset(
    """grace rose mark bill dawn joy hope faith amber holly ivy ruby jack will pat sue rob
    victor frank carol jean june april may summer crystal pearl olive daisy lily iris violet
    heather jasmine poppy robin sky hunter chase harry peter sunny angel precious blessing
    patience prudence charity honor rich guy don art max ray gene terry wade bob dean drew
    gray hazel ginger ashley brook rocky rusty sandy misty autumn dusty penny hollie ben
    jay kit nick pip sam tom bonnie jewel goldie destiny ebony neve lois""".split()
)

# Words a person's name stands before: verbs, conjunctions, prepositions.
FOLLOWS = frozenset(
    """was is has had and said says told who did does came went helped made gave took rang
    called explained kept got will would could can from at on in with to for but or as
    when if because died passed looked sorted""".split()
)

# Verbs a person's name is the subject of ("Amber explained", "kofi had").
VERBS = frozenset(
    """was is has had said says told did came went helped made gave took rang called explained
    kept got listened phoned arrived sorted looked talked spoke asked answered treated
    examined checked visited reassured dealt arranged booked referred saw stayed left knew
    understood smiled apologised apologized advised informed messaged emailed replied
    responded tried managed showed offered brought drove sent noticed refused ignored seemed
    listens explains helps died passed fell needed wanted felt waited received became started
    decided""".split()
)

# Particles inside a name: "Jean-Luc van Dijk", "Mrs Ó Briain", "Maria de la Cruz".
PARTICLES = frozenset(
    """van von de der den da di du del della dos das le la al el bin ibn ó ní nic mac ter
    ten""".split()
)

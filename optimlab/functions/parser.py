def parse(*a, **k): raise NotImplementedError
def resolve(*a, **k): raise NotImplementedError

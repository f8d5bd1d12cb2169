# A busy loop runs until nsrun's wall-clock timer kills it.
while True:
    pass

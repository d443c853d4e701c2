"""What runs on the board: ``armstft verify``, ``bench``, ``run`` (classify.py) and their JSON output.

Why apart from ``host``: the board runs this code and the host never needs it to make a bundle; the two
never import each other, so a board image can be reasoned about without the host's export and training.
"""

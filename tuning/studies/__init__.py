"""Studies built on the suite: the rectifier comparison and the dying-ReLU experiment."""

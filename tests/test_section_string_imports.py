"""keras.io's examples put a section string between the docstring and the imports (``\"\"\"## Setup\"\"\"``): the
imports the output needs join the script's block after it, rather than repeat its numpy import above it."""

import k2t

SOURCE = '''\
"""
Title: A keras.io example
"""

"""
## Setup
"""

import numpy as np
import keras
from keras import layers

"""
## Train
"""

x = np.zeros((8, 4), "float32")
model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
model.fit(x, np.zeros((8, 1)), epochs=1, verbose=0)
'''


def test_the_imports_join_the_scripts_block_after_its_section_string():
    result = k2t.convert_source(SOURCE, "example.py")
    assert result.diagnostics == ()
    output = result.output
    assert output.count("import numpy as np") == 1
    head = output.split("device = ")[0]
    assert head.startswith('"""\nTitle: A keras.io example\n"""\n\n"""\n## Setup\n"""\n\nimport os\n\n# torch\'s OpenMP')
    assert '"GOMP_SPINCOUNT", "3000")\n\nimport math\n' in head
    assert "import numpy as np\nimport torch\n" in head
    assert output.index('"""\n## Train\n"""') > output.index("class Net(nn.Module)")

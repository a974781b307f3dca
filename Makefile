# The README's two commands: `make demo` and `make test`. Each sets up everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: test demo install dicom-peers clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,dev]'
	rm -f $(VENV)/.installed-* && touch $@

# dcmtk and Orthanc are the real DICOM peers the integration tests start on loopback.
# Installed when we are root with apt; otherwise those tests skip and say why.
dicom-peers:
	@if command -v storescu >/dev/null && command -v storescp >/dev/null && command -v echoscu >/dev/null \
	    && { command -v Orthanc >/dev/null || test -x /usr/sbin/Orthanc; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing dcmtk and orthanc (DICOM peers for the tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dcmtk orthanc >/dev/null; \
	else \
	  echo "note: dcmtk/Orthanc are missing and apt is not usable here: the tests that need them will skip"; \
	fi

test: install dicom-peers
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m trainer.demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

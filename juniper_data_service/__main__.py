"""``python -m juniper_data_service``: serve with settings from ``JUNIPER_DATA_*``."""

from juniper_data_service.app import run

if __name__ == "__main__":
    run()

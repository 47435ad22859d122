import os

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="envelopes",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=table_finder(modules=["backend.envelopes.tables"], exclude_imported=True),
    migration_dependencies=["backend.orgs.piccolo_app", "backend.storage.piccolo_app"],
)

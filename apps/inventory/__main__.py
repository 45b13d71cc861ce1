from inventory.app import create_app
from inventory.config import InventoryConfig
from stockwiz_runtime.server import serve

serve(create_app, InventoryConfig, "inventory-service")

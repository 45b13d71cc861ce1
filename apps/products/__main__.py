from products.app import create_app
from products.config import ProductsConfig
from stockwiz_runtime.server import serve

serve(create_app, ProductsConfig, "product-service")

from gateway.app import SERVICE_NAME, create_app
from gateway.config import GatewayConfig
from stockwiz_runtime.server import serve

serve(create_app, GatewayConfig, SERVICE_NAME)

-- One database per service, named as `npm run start:distributed` names them (shopmesh_<service>).
-- docker-compose.yml runs this when the Postgres volume is first created.
CREATE DATABASE shopmesh_auth;
CREATE DATABASE shopmesh_catalog;
CREATE DATABASE shopmesh_cart;
CREATE DATABASE shopmesh_order;
CREATE DATABASE shopmesh_payment;
CREATE DATABASE shopmesh_notification;

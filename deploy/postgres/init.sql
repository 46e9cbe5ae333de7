-- One database per service.
CREATE DATABASE auth;
CREATE DATABASE catalog;
CREATE DATABASE cart;
CREATE DATABASE orders;
CREATE DATABASE payment;
CREATE DATABASE notification;
